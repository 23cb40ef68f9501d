// Fused operations: one call for what would otherwise be many small tfjs ops. Each has a
// composite implementation made of plain tfjs ops (in this folder), which every backend can run
// and autograd differentiates; a backend that has its own kernels (native/) registers faster
// implementations here under its backend name. Both must compute the same function.
import * as tf from '../tf.ts';

export interface AttentionOptions {
  /** dropout rate on the attention weights (0: none) */
  dropout: number;
  /** run seed and a per-call id: the dropout mask is philox(seed, callId), see core/random */
  seed: number;
  callId: number;
}

export interface AdamWHyper {
  lr: number; beta1: number; beta2: number; eps: number; weightDecay: number;
  /** 1-based step count, for bias correction */
  step: number;
}

/** The parameters of a pre-norm transformer block (C wide, hidden width F = mult * C). */
export interface BlockWeights {
  ln1g: tf.Tensor; // (C) first layer norm
  ln1b: tf.Tensor; // (C)
  wqkv: tf.Tensor; // (C, 3C) columns [q heads | k heads | v heads], no bias
  wproj: tf.Tensor; // (C, C) attention output projection
  bproj: tf.Tensor; // (C)
  ln2g: tf.Tensor; // (C) second layer norm
  ln2b: tf.Tensor; // (C)
  wfc: tf.Tensor; // (C, F) feed-forward up
  bfc: tf.Tensor; // (F)
  wfp: tf.Tensor; // (F, C) feed-forward down
  bfp: tf.Tensor; // (C)
}

export interface BlockOptions {
  nHead: number;
  activation: 'relu' | 'gelu';
  /** layer norm epsilon */
  eps: number;
  /** dropout rates (0: none) on the attention weights, after the projection, after the feed-forward */
  attnDropout: number;
  projDropout: number;
  ffDropout: number;
  /** run seed and one call id per dropout: masks are philox(seed, callId), as the composite's */
  seed: number;
  attnCallId: number;
  projCallId: number;
  ffCallId: number;
}

export interface FusedImpls {
  /** table (V, C) looked up at int32 ids (...) -> (..., C); its gradient scatters rows back */
  embedding?(table: tf.Tensor, ids: tf.Tensor): tf.Tensor;
  /** exact GELU, 0.5 x (1 + erf(x / sqrt 2)) */
  gelu?(x: tf.Tensor): tf.Tensor;
  /** (..., C), (C), (C) -> (..., C) */
  layerNorm?(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor;
  /** q, k, v (B, H, T, D) -> (B, H, T, D): softmax(q k^T / sqrt(D) + causal mask) v */
  causalAttention?(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, opts: AttentionOptions): tf.Tensor;
  /** logits (N, V), int32 targets (N) -> scalar mean cross-entropy */
  softmaxCrossEntropy?(logits: tf.Tensor, targets: tf.Tensor): tf.Scalar;
  /** x * mask / (1 - rate), mask from philox(seed, callId) */
  dropout?(x: tf.Tensor, rate: number, seed: number, callId: number): tf.Tensor;
  /** The standard pre-norm block on x (B, T, C), the composite of layers/block.ts:
   * y1 = x + Dropout(Proj(CausalAttn(LN1(x)))), y = y1 + Dropout(FcProj(act(Fc(LN2(y1))))) */
  transformerBlock?(x: tf.Tensor, w: BlockWeights, opts: BlockOptions): tf.Tensor;
  /** in-place AdamW update of every parameter (decoupled weight decay, as torch.optim.AdamW) */
  adamw?(params: tf.Variable[], grads: tf.Tensor[], m: tf.Variable[], v: tf.Variable[], hp: AdamWHyper,
    decay: boolean[]): void;
}

const impls = new Map<string, FusedImpls>();

export function registerFusedImpls(backendName: string, fused: FusedImpls): void {
  impls.set(backendName, { ...impls.get(backendName), ...fused });
}

/** The active backend's fused implementations (empty: use the composites). */
export function activeFused(): FusedImpls {
  return impls.get(tf.getBackend()) ?? {};
}
