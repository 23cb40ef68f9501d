import * as tf from '../core/tf.ts';
import { defineLayer, LayerError, linearInit } from './registry.ts';
import { makeLinear } from './linear.ts';

export default defineLayer<{ bias: boolean; tie: boolean }>({
  name: 'lm_head',
  doc: 'Linear map from features to one logit per token; tie: reuse the token embedding (GPT-2).',
  schema: {
    type: 'object', additionalProperties: false,
    properties: {
      bias: { type: 'boolean', default: true },
      tie: { type: 'boolean', default: false, description: 'share weights with token_embedding' },
    },
  },
  build(p, ctx) {
    if (ctx.stage !== 'features') throw new LayerError([], 'lm_head maps features to logits: place it after an embedding');
    const C = ctx.dim, V = ctx.vocabSize;
    ctx.stage = 'logits'; ctx.dim = V;
    if (p.tie) {
      const emb = ctx.tokenEmbedding;
      if (!emb) throw new LayerError(['tie'], 'tie needs a token_embedding before lm_head');
      if (emb.shape[1] !== C) throw new LayerError(['tie'], `cannot tie: features are ${C} wide, the token embedding ${emb.shape[1]}`);
      const b = p.bias ? ctx.param('bias', [V], linearInit(ctx.init, C).b) : null;
      ctx.note('(B, T, V)');
      return (x) => {
        const lead = x.shape.slice(0, -1);
        let y = tf.matMul(x.reshape([-1, C]), emb.v!, false, true); // (N, V)
        if (b) y = y.add(b.v!);
        return y.reshape([...lead, V]);
      };
    }
    const lin = makeLinear(ctx, 'proj', C, V, p.bias);
    ctx.note('(B, T, V)');
    return (x) => lin.apply(x);
  },
});
