// Fused causal attention over all heads (native/kernels/attention.cc) and its gradient kernel.
// Only q, k, v are saved: the backward pass recomputes scores, weights and the dropout mask
// block by block, so no (B, H, T, T) tensor is ever made.
import { registerGradient, type GradConfig, type NamedAttrMap, type Tensor, type TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { allocF32, type Attrs, type Backend, config, f32, nb, sizeOf } from './util.ts';

export const CausalAttention = 'NanolabCausalAttention';
export const CausalAttentionGrad = 'NanolabCausalAttentionGrad';

/** attrs: rate, seedLo, seedHi, callLo, callHi */
const key = (a: Attrs) => [a.rate, a.seedLo, a.seedHi, a.callLo, a.callHi] as [number, number, number, number, number];

export const causalAttentionConfig = config(CausalAttention, (args) => {
  const { q, k, v } = args.inputs as { q: TensorInfo; k: TensorInfo; v: TensorInfo };
  const backend = args.backend as Backend;
  const [B, H, T, D] = q.shape;
  const out = allocF32(backend, sizeOf(q.shape));
  nb().attentionForward(out, f32(backend, q), f32(backend, k), f32(backend, v), B * H, T, D, ...key(args.attrs!));
  return backend.makeTensorInfo(q.shape, 'float32', out);
});

export const causalAttentionGradConfig = config(CausalAttentionGrad, (args) => {
  const { dy, q, k, v } = args.inputs as { dy: TensorInfo; q: TensorInfo; k: TensorInfo; v: TensorInfo };
  const backend = args.backend as Backend;
  const [B, H, T, D] = q.shape;
  const n = sizeOf(q.shape);
  const zero = T > 64;  // long sequences accumulate dk, dv over blocks (attention.cc kBlock)
  const dq = allocF32(backend, n), dk = allocF32(backend, n, zero), dv = allocF32(backend, n, zero);
  nb().attentionBackward(dq, dk, dv, f32(backend, dy), f32(backend, q), f32(backend, k), f32(backend, v), B * H, T, D,
    ...key(args.attrs!));
  return [dq, dk, dv].map((g) => backend.makeTensorInfo(q.shape, 'float32', g));
});

export const causalAttentionGradient: GradConfig = {
  kernelName: CausalAttention,
  inputsToSave: ['q', 'k', 'v'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs?: NamedAttrMap) => {
    const [q, k, v] = saved;
    const [dq, dk, dv] = tf.engine().runKernel(CausalAttentionGrad, { dy: dy as Tensor, q, k, v }, attrs) as Tensor[];
    return { q: () => dq, k: () => dk, v: () => dv };
  },
};

export function registerCausalAttentionGradient(): void { registerGradient(causalAttentionGradient); }
