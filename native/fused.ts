// The fused operations of core/ops/registry.ts for the 'native' backend. Each runs one native
// kernel (with a native gradient kernel), same function as the composite in core/ops/fused.ts.
import * as tf from '@tensorflow/tfjs-core';
import type { AttentionOptions, BlockOptions, BlockWeights, FusedImpls } from '../core/ops/registry.ts';
import { split64 } from './binding.ts';
import { adamwNative } from './kernels/AdamW.ts';
import { CausalAttention } from './kernels/CausalAttention.ts';
import { Dropout } from './kernels/Dropout.ts';
import { Embedding } from './kernels/Embedding.ts';
import { Gelu } from './kernels/Gelu.ts';
import { LayerNorm } from './kernels/LayerNorm.ts';
import { SoftmaxCrossEntropy } from './kernels/SoftmaxCrossEntropy.ts';
import { blockParamNames, blockSavedParams, TransformerBlock, transformerBlockGrads } from './kernels/TransformerBlock.ts';

const run = (name: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap = {}) =>
  tf.engine().runKernel(name, inputs, attrs) as tf.Tensor;

function dropoutAttrs(rate: number, seed: number, callId: number): tf.NamedAttrMap {
  const [seedLo, seedHi] = split64(seed), [callLo, callHi] = split64(callId);
  return { rate, seedLo, seedHi, callLo, callHi };
}

export const nativeFused: FusedImpls = {
  embedding(table, ids) {
    if (table.rank !== 2) throw new Error(`embedding: the table must be (V, C), got ${table.shape}`);
    return run(Embedding, { table, ids });
  },

  layerNorm(x, gamma, beta, eps) {
    const C = x.shape[x.rank - 1];
    if (gamma.size !== C || beta.size !== C) {
      throw new Error(`layerNorm: gamma and beta need ${C} values, got ${gamma.size} and ${beta.size}`);
    }
    return run(LayerNorm, { x, gamma, beta }, { eps });
  },

  causalAttention(q, k, v, opts: AttentionOptions) {
    if (q.rank !== 4 || !tf.util.arraysEqual(q.shape, k.shape) || !tf.util.arraysEqual(q.shape, v.shape)) {
      throw new Error(`causalAttention: q, k, v must all be (B, H, T, D), got ${q.shape}, ${k.shape}, ${v.shape}`);
    }
    return run(CausalAttention, { q, k, v }, dropoutAttrs(opts.dropout > 0 ? opts.dropout : 0, opts.seed, opts.callId));
  },

  softmaxCrossEntropy(logits, targets) {
    if (targets.size * logits.shape[logits.rank - 1] !== logits.size) {
      throw new Error(`softmaxCrossEntropy: ${targets.size} targets for logits of shape ${logits.shape}`);
    }
    return run(SoftmaxCrossEntropy, { logits, targets }) as tf.Scalar;
  },

  dropout(x, rate, seed, callId) {
    if (rate <= 0) return x;
    return run(Dropout, { x }, dropoutAttrs(rate, seed, callId));
  },

  transformerBlock(x, w: BlockWeights, o: BlockOptions) {
    if (x.rank !== 3) throw new Error(`transformerBlock: x must be (B, T, C), got ${x.shape}`);
    const C = x.shape[2]!, F = w.wfc.shape[1] ?? 0;
    const want: Record<keyof BlockWeights, number[]> = {
      ln1g: [C], ln1b: [C], wqkv: [C, 3 * C], wproj: [C, C], bproj: [C], ln2g: [C], ln2b: [C], wfc: [C, F], bfc: [F],
      wfp: [F, C], bfp: [C],
    };
    for (const [k, shape] of Object.entries(want)) {
      const t = w[k as keyof BlockWeights];
      if (!tf.util.arraysEqual(t.shape, shape)) throw new Error(`transformerBlock: ${k} must be (${shape}), got (${t.shape})`);
    }
    if (!(o.nHead >= 1 && C % o.nHead === 0)) throw new Error(`transformerBlock: width ${C} is not divisible by ${o.nHead} heads`);
    const [seedLo, seedHi] = split64(o.seed);
    const call = (name: string, rate: number, id: number) => {
      const [lo, hi] = split64(rate > 0 ? id : 0);
      return { [`${name}Rate`]: rate > 0 ? rate : 0, [`${name}CallLo`]: lo, [`${name}CallHi`]: hi };
    };
    const attrs = {
      nHead: o.nHead, gelu: o.activation === 'gelu', eps: o.eps, seedLo, seedHi,
      ...call('attn', o.attnDropout, o.attnCallId), ...call('proj', o.projDropout, o.projCallId), ...call('ff', o.ffDropout, o.ffCallId),
    };
    // Through tf.customGrad rather than the kernel's registered gradient: tfjs hands a gradient
    // function a zero-filled dy for every output outside the backprop graph, i.e. for each saved
    // activation (~300 KB per block and step for the small model). Same kernels, same saved tensors.
    const params = blockParamNames.map((k) => w[k]);
    return tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const save = args.pop() as tf.GradSaveFunc;
      const [xx, ...ps] = args as tf.Tensor[];
      const inputs: tf.NamedTensorMap = { x: xx };
      blockParamNames.forEach((k, i) => { inputs[k] = ps[i]; });
      const [y, ...acts] = tf.engine().runKernel(TransformerBlock, inputs, attrs) as tf.Tensor[];
      save([xx, ...blockSavedParams.map((k) => inputs[k]), ...acts]); // kept clones; customGrad's tidy drops acts
      return { value: y, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => transformerBlockGrads(dy, saved, attrs) };
    })(x, ...params);
  },

  adamw: adamwNative,
};

/** Exact GELU (tfjs' erf) in one kernel each way. Not in core/ops/registry.ts' FusedImpls yet:
 * registered under the name `gelu` so that core/ops can dispatch to it once it declares
 * `gelu?(x: Tensor): Tensor` (the composite is layers/feed_forward.ts' gelu). */
export function nativeGelu(x: tf.Tensor): tf.Tensor {
  return run(Gelu, { x });
}

/** What index.ts registers for 'native': the FusedImpls above plus the extra ops. */
export const nativeFusedAll = { ...nativeFused, gelu: nativeGelu } as FusedImpls;
