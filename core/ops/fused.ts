// The fused operations the layers call. Each dispatches to the active backend's own kernel when
// it registered one (core/ops/registry.ts), else runs the composite made of tfjs ops below.
import * as tf from '../tf.ts';
import { dropoutMask } from '../random/philox.ts';
import { activeFused, type AdamWHyper, type AttentionOptions } from './registry.ts';

/**
 * Embedding lookup. The composite's gradient is one_hot(ids)^T @ dy, a matmul: tfjs' JS
 * UnsortedSegmentSum (the gradient tf.gather would use) takes ~250 ms for a 256 x 83 table.
 */
export function embedding(table: tf.Tensor, ids: tf.Tensor): tf.Tensor {
  const impl = activeFused().embedding;
  if (impl) return impl(table, ids);
  const lookup = tf.customGrad(((t: tf.Tensor, i: tf.Tensor, save: tf.GradSaveFunc) => {
    save([i]);
    return {
      value: tf.gather(t as tf.Tensor, i as tf.Tensor),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [V, C] = (t as tf.Tensor).shape;
        const flat = (saved[0] as tf.Tensor).reshape([-1]) as tf.Tensor1D;
        const dTable = tf.matMul(tf.oneHot(flat, V), (dy as tf.Tensor).reshape([-1, C]), true, false); // (V, C)
        return [dTable, tf.zerosLike(saved[0] as tf.Tensor)];
      },
    };
  }) as unknown as (...args: (tf.Tensor | tf.GradSaveFunc)[]) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[] });
  return lookup(table, ids);
}

/** Exact GELU, as torch.nn.GELU(): 0.5 x (1 + erf(x / sqrt 2)). */
export function gelu(x: tf.Tensor): tf.Tensor {
  const impl = activeFused().gelu;
  if (impl) return impl(x);
  return tf.tidy(() => x.mul(tf.erf(x.mul(Math.SQRT1_2)).add(1)).mul(0.5));
}

export function layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps = 1e-5): tf.Tensor {
  const impl = activeFused().layerNorm;
  if (impl) return impl(x, gamma, beta, eps);
  return tf.tidy(() => {
    const axis = x.rank - 1;
    const { mean, variance } = tf.moments(x, axis, true); // biased variance, as torch
    return x.sub(mean).mul(tf.rsqrt(variance.add(eps))).mul(gamma).add(beta);
  });
}

export function dropout(x: tf.Tensor, rate: number, seed: number, callId: number): tf.Tensor {
  if (rate <= 0) return x;
  const impl = activeFused().dropout;
  if (impl) return impl(x, rate, seed, callId);
  return tf.tidy(() => x.mul(tf.tensor(dropoutMask(x.size, rate, seed, callId), x.shape, 'float32')));
}

/** Upper-triangle -inf mask (T, T), cached per T: it never changes. */
const causalMasks = new Map<number, tf.Tensor2D>();
function causalMask(T: number): tf.Tensor2D {
  let m = causalMasks.get(T);
  if (!m) {
    const a = new Float32Array(T * T);
    for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) a[i * T + j] = -Infinity;
    m = tf.keep(tf.tensor2d(a, [T, T]));
    causalMasks.set(T, m);
  }
  return m;
}

export function causalAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, opts: AttentionOptions): tf.Tensor {
  const impl = activeFused().causalAttention;
  if (impl) return impl(q, k, v, opts);
  return tf.tidy(() => {
    const [, , T, D] = q.shape;
    const scores = tf.matMul(q, k, false, true).mul(1 / Math.sqrt(D)).add(causalMask(T)); // (B, H, T, T)
    let weights = tf.softmax(scores);
    weights = dropout(weights, opts.dropout, opts.seed, opts.callId);
    return tf.matMul(weights, v); // (B, H, T, D)
  });
}

export function softmaxCrossEntropy(logits: tf.Tensor, targets: tf.Tensor): tf.Scalar {
  const impl = activeFused().softmaxCrossEntropy;
  if (impl) return impl(logits, targets);
  return tf.tidy(() => {
    const V = logits.shape[logits.rank - 1];
    const logp = tf.logSoftmax(logits);
    const picked = logp.mul(tf.oneHot(targets as tf.Tensor1D, V)).sum(-1);
    return picked.mean().neg() as tf.Scalar;
  });
}

export function adamw(params: tf.Variable[], grads: tf.Tensor[], m: tf.Variable[], v: tf.Variable[],
  hp: AdamWHyper, decay: boolean[]): void {
  const impl = activeFused().adamw;
  if (impl) return impl(params, grads, m, v, hp, decay);
  const bc1 = 1 - Math.pow(hp.beta1, hp.step);
  const bc2 = 1 - Math.pow(hp.beta2, hp.step);
  const stepSize = hp.lr / bc1;
  const sqrtBc2 = Math.sqrt(bc2);
  for (let i = 0; i < params.length; i++) {
    tf.tidy(() => {
      const g = grads[i];
      // torch.optim.AdamW: decay first, then the Adam step with bias-corrected moments
      const p = decay[i] && hp.weightDecay > 0 ? params[i].mul(1 - hp.lr * hp.weightDecay) : params[i];
      const mNew = m[i].mul(hp.beta1).add(g.mul(1 - hp.beta1));
      const vNew = v[i].mul(hp.beta2).add(g.square().mul(1 - hp.beta2));
      const denom = vNew.sqrt().div(sqrtBc2).add(hp.eps);
      m[i].assign(mNew);
      v[i].assign(vNew);
      params[i].assign(p.sub(mNew.div(denom).mul(stepSize)));
    });
  }
}
