import * as tf from '../core/tf.ts';
import { causalAttention, dropout } from '../core/ops/fused.ts';
import { rateSchema } from './dropout.ts';
import { defineLayer, LayerError, linearInit, type BuildContext, type Forward, type Param } from './registry.ts';
import { makeLinear, type Linear } from './linear.ts';

export interface AttentionParams {
  n_head: number;
  head_size?: number;
  projection: boolean;
  dropout: number;
  causal: boolean;
  impl: 'batched' | 'heads';
}

export const attentionSchema = {
  type: 'object', additionalProperties: false, required: ['n_head'],
  properties: {
    n_head: { type: 'integer', minimum: 1 },
    head_size: { type: 'integer', minimum: 1, description: 'default: width / n_head' },
    projection: { type: 'boolean', default: true, description: 'output Linear(n_head*head_size, width)' },
    dropout: { ...rateSchema, description: 'on the attention weights and after the projection' },
    causal: { type: 'boolean', default: true, description: 'false lets positions see the future' },
    impl: {
      enum: ['batched', 'heads'], default: 'batched',
      description: 'all heads in one batched matmul, or one by one as in the lecture: the same function',
    },
  },
};

/** Scores without the causal mask (only for the causal: false ablation, so no fused kernel). */
function fullAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, rate: number, fcSeed: number, callId: number) {
  const D = q.shape[3]!;
  let w = tf.softmax(tf.matMul(q, k, false, true).mul(1 / Math.sqrt(D))); // (B, H, T, T)
  w = dropout(w, rate, fcSeed, callId);
  return tf.matMul(w, v);
}

/** The attention's forward function and its parameters (a fused block reads them). */
export type AttentionLayer = Forward & { qkv: Param; proj: Linear | null };

/**
 * Self-attention with n_head heads of head_size. The query, key and value weights of all heads
 * live in one (C, 3 * H * hs) matrix: columns [q heads | k heads | v heads], head h at
 * h*hs..(h+1)*hs; the lecture's per-head Linear(C, hs, bias=False) is a slice of it, so both
 * implementations hold the same parameters and compute the same function.
 */
export function buildAttention(p: AttentionParams, ctx: BuildContext): AttentionLayer {
  if (ctx.stage !== 'features') throw new LayerError([], 'attention needs features: place it after token_embedding');
  const C = ctx.dim, H = p.n_head;
  if (p.head_size === undefined && C % H !== 0) {
    throw new LayerError(['n_head'], `width ${C} is not divisible by n_head ${H} (set head_size, or change n_embd)`);
  }
  const hs = p.head_size ?? C / H;
  const qkv = ctx.param('qkv.weight', [C, 3 * H * hs], linearInit(ctx.init, C).w); // no bias, as the lecture
  const proj = p.projection ? makeLinear(ctx, 'proj', H * hs, C, true) : null;
  const outDim = proj ? C : H * hs;
  ctx.dim = outDim;
  ctx.note(`(B, T, ${outDim})`);

  const attend = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, training: boolean, seed: number, callId: number) => {
    const rate = training ? p.dropout : 0;
    return p.causal ? causalAttention(q, k, v, { dropout: rate, seed, callId }) : fullAttention(q, k, v, rate, seed, callId);
  };

  const forward: Forward = (x, fc) => {
    const [B, T] = x.shape as number[];
    const x2 = x.reshape([B * T, C]);
    let y: tf.Tensor;
    if (p.impl === 'batched') {
      const all = tf.matMul(x2, qkv.v!).reshape([B, T, 3, H, hs]).transpose([2, 0, 3, 1, 4]); // (3, B, H, T, hs)
      const [q, k, v] = tf.unstack(all, 0);
      y = attend(q, k, v, fc.training, fc.seed, fc.nextCallId()); // (B, H, T, hs)
      y = y.transpose([0, 2, 1, 3]).reshape([B, T, H * hs]);
    } else {
      const heads: tf.Tensor[] = [];
      for (let h = 0; h < H; h++) {
        const col = (part: number) => tf.matMul(x2, qkv.v!.slice([0, part * H * hs + h * hs], [C, hs])).reshape([B, 1, T, hs]);
        heads.push(attend(col(0), col(1), col(2), fc.training, fc.seed, fc.nextCallId()).reshape([B, T, hs]));
      }
      y = H === 1 ? heads[0] : tf.concat(heads, -1); // (B, T, H * hs)
    }
    if (proj) {
      y = proj.apply(y);
      if (fc.training && p.dropout > 0) y = dropout(y, p.dropout, fc.seed, fc.nextCallId());
    }
    return y;
  };
  return Object.assign(forward, { qkv, proj });
}

export default defineLayer<AttentionParams>({
  name: 'multi_head_attention',
  doc: 'Causal self-attention with n_head heads, optional output projection and dropout.',
  schema: attentionSchema,
  build: buildAttention,
});
