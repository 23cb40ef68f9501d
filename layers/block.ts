import type * as tf from '../core/tf.ts';
import { layerNorm } from '../core/ops/fused.ts';
import { activeFused, type BlockWeights } from '../core/ops/registry.ts';
import { buildFeedForward, feedForwardSchema, type FeedForwardParams } from './feed_forward.ts';
import { attentionSchema, buildAttention, type AttentionParams } from './multi_head_attention.ts';
import { defineLayer, LayerError, type BuildContext, type Forward, type Param } from './registry.ts';

interface BlockParams {
  attention: AttentionParams;
  feed_forward: FeedForwardParams;
  residual: boolean;
  norm: 'pre' | 'post' | 'none';
}

/** Build errors of a sub-component point into its own parameters. */
function within<T>(key: string, fn: () => T): T {
  try { return fn(); } catch (e) {
    if (e instanceof LayerError) throw new LayerError([key, ...e.path], e.message);
    throw e;
  }
}

type Norm = Forward & { g: Param; b: Param };

function norm(ctx: BuildContext, name: string): Norm {
  const C = ctx.dim;
  const g: Param = ctx.param(`${name}.weight`, [C], { kind: 'const', value: 1 });
  const b: Param = ctx.param(`${name}.bias`, [C], { kind: 'const', value: 0 });
  return Object.assign((x: tf.Tensor) => layerNorm(x, g.v!, b.v!, 1e-5), { g, b });
}

export default defineLayer<BlockParams>({
  name: 'block',
  doc: 'Transformer block: attention then feed-forward, each with optional residual and layer norm.',
  schema: {
    type: 'object', additionalProperties: false, required: ['attention'],
    properties: {
      attention: attentionSchema,
      feed_forward: { ...feedForwardSchema, default: {} },
      residual: { type: 'boolean', default: true },
      norm: { enum: ['pre', 'post', 'none'], default: 'pre', description: 'pre: x + f(ln(x)); post: ln(x + f(x))' },
    },
  },
  build(p, ctx) {
    if (ctx.stage !== 'features') throw new LayerError([], 'block needs features: place it after token_embedding');
    const C = ctx.dim;
    const ln1 = p.norm !== 'none' ? ctx.scope('ln1', () => norm(ctx, 'ln1')) : null;
    const sa = ctx.scope('attention', () => within('attention', () => buildAttention(p.attention, ctx)));
    if (p.residual && ctx.dim !== C) {
      throw new LayerError(['attention'], `residual needs the attention output ${ctx.dim} wide to match the input ${C} (turn projection on)`);
    }
    const ln2 = p.norm !== 'none' ? ctx.scope('ln2', () => norm(ctx, 'ln2')) : null;
    const ff = ctx.scope('feed_forward', () => within('feed_forward', () => buildFeedForward(p.feed_forward, ctx)));
    if (p.residual && ctx.dim !== C) {
      throw new LayerError(['feed_forward'], `residual needs the feed-forward output ${ctx.dim} wide to match the input ${C} (turn projection on)`);
    }
    ctx.note(`(B, T, ${ctx.dim})`);
    const id: Forward = (x) => x;
    const n1 = ln1 ?? id, n2 = ln2 ?? id;
    if (p.residual && p.norm === 'post') {
      return (x, fc) => { x = n1(x.add(sa(x, fc)), fc); return n2(x.add(ff(x, fc)), fc); };
    }
    if (p.residual) {
      const composite: Forward = (x, fc) => { x = x.add(sa(n1(x, fc), fc)); return x.add(ff(n2(x, fc), fc)); };
      const a = p.attention, f = p.feed_forward;
      const standard = p.norm === 'pre' && a.impl === 'batched' && a.causal && sa.proj !== null && ff.proj !== null &&
        (a.head_size ?? C / a.n_head) * a.n_head === C;
      if (!standard || !ln1 || !ln2) return composite;
      // The same function in one fused op where the backend has one (native/kernels/block.cc):
      // same parameters, and the same dropout call ids in the composite's order.
      const w = (): BlockWeights => ({
        ln1g: ln1.g.v!, ln1b: ln1.b.v!, wqkv: sa.qkv.v!, wproj: sa.proj!.w.v!, bproj: sa.proj!.b!.v!,
        ln2g: ln2.g.v!, ln2b: ln2.b.v!, wfc: ff.fc.w.v!, bfc: ff.fc.b!.v!, wfp: ff.proj!.w.v!, bfp: ff.proj!.b!.v!,
      });
      return (x, fc) => {
        const fused = activeFused().transformerBlock;
        if (!fused || x.rank !== 3) return composite(x, fc);
        const attnCallId = fc.nextCallId(); // the attention weights' dropout always takes one
        const projCallId = fc.training && a.dropout > 0 ? fc.nextCallId() : 0;
        const ffCallId = fc.training && f.dropout > 0 ? fc.nextCallId() : 0;
        return fused(x, w(), {
          nHead: a.n_head, activation: f.activation, eps: 1e-5, seed: fc.seed,
          attnDropout: fc.training ? a.dropout : 0, projDropout: fc.training ? a.dropout : 0,
          ffDropout: fc.training ? f.dropout : 0, attnCallId, projCallId, ffCallId,
        }); // (B, T, C)
      };
    }
    if (p.norm === 'post') return (x, fc) => n2(ff(n1(sa(x, fc), fc), fc), fc);
    return (x, fc) => ff(n2(sa(n1(x, fc), fc), fc), fc);
  },
});
