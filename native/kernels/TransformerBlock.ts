// Fused pre-norm transformer block (native/kernels/block.cc): one kernel forward, one backward,
// instead of ~40 small tfjs kernels (and their tape entries and saved-tensor clones) each way.
// Besides y the forward kernel returns what the backward needs: x Wqkv (q | k | v rows), the
// attention output, y1 (after the attention residual) and the fc pre-activation. Layer norm
// outputs, the activation and the attention weights are recomputed in the backward pass.
import { registerGradient, type GradConfig, type NamedAttrMap, type Tensor, type TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { allocF32, type Attrs, type Backend, config, f32, nb } from './util.ts';

export const TransformerBlock = 'NanolabTransformerBlock';
export const TransformerBlockGrad = 'NanolabTransformerBlockGrad';

/** Parameter inputs, in block.cc's order. */
export const blockParamNames = ['ln1g', 'ln1b', 'wqkv', 'wproj', 'bproj', 'ln2g', 'ln2b', 'wfc', 'bfc', 'wfp', 'bfp'] as const;
export type BlockParamName = typeof blockParamNames[number];

/** The parameters the backward pass reads (the biases are inside the saved activations). The saved
 * tensors of a forward call are, in this order: x, these, then the forward's outputs other than y
 * (qkv, atty, y1, h). */
export const blockSavedParams = ['ln1g', 'ln1b', 'wqkv', 'wproj', 'ln2g', 'ln2b', 'wfc', 'wfp'] as const;

/** attrs: nHead, gelu, eps, seedLo, seedHi, then rate, callLo, callHi per dropout (attn, proj, ff) */
const dims = (a: Attrs, B: number, T: number, C: number, F: number) => [
  B, T, C, a.nHead as number, F, a.gelu ? 1 : 0, a.eps as number, a.seedLo as number, a.seedHi as number,
  a.attnRate as number, a.attnCallLo as number, a.attnCallHi as number,
  a.projRate as number, a.projCallLo as number, a.projCallHi as number,
  a.ffRate as number, a.ffCallLo as number, a.ffCallHi as number,
];

export const transformerBlockConfig = config(TransformerBlock, (args) => {
  const inputs = args.inputs as Record<'x' | BlockParamName, TensorInfo>;
  const backend = args.backend as Backend;
  const { x, wfc } = inputs;
  const [B, T, C] = x.shape, F = wfc.shape[1], N = B * T;
  const y = allocF32(backend, N * C), qkv = allocF32(backend, 3 * N * C), atty = allocF32(backend, N * C);
  const y1 = allocF32(backend, N * C), h = allocF32(backend, N * F);
  nb().transformerBlockForward(y, qkv, atty, y1, h, f32(backend, x), ...blockParamNames.map((k) => f32(backend, inputs[k])),
    ...dims(args.attrs!, B, T, C, F));
  return [
    backend.makeTensorInfo([B, T, C], 'float32', y),
    backend.makeTensorInfo([B, T, 3 * C], 'float32', qkv),
    backend.makeTensorInfo([B, T, C], 'float32', atty),
    backend.makeTensorInfo([B, T, C], 'float32', y1),
    backend.makeTensorInfo([B, T, F], 'float32', h),
  ];
});

export const transformerBlockGradConfig = config(TransformerBlockGrad, (args) => {
  const inputs = args.inputs as Record<string, TensorInfo>;
  const backend = args.backend as Backend;
  const { x, wfc } = inputs;
  const [B, T, C] = x.shape, F = wfc.shape[1];
  const gradShapes: number[][] = [[B, T, C], [C], [C], [C, 3 * C], [C, C], [C], [C], [C], [C, F], [F], [F, C], [C]];
  const grads = gradShapes.map((s) => allocF32(backend, s.reduce((a, b) => a * b, 1)));
  const f = (name: string) => f32(backend, inputs[name]);
  nb().transformerBlockBackward(...grads, f('dy'), f('qkv'), f('atty'), f('y1'), f('h'), f('x'),
    ...blockSavedParams.map(f), ...dims(args.attrs!, B, T, C, F));
  return grads.map((g, i) => backend.makeTensorInfo(gradShapes[i], 'float32', g));
});

/** All twelve gradients (x, then the parameters in blockParamNames' order) from one backward call. */
export function transformerBlockGrads(dy: Tensor, saved: Tensor[], attrs: NamedAttrMap): Tensor[] {
  const [x, ...rest] = saved;
  // a backend may save more than these four (the CUDA block adds the attention rows' lse)
  const params = rest.slice(0, blockSavedParams.length), [qkv, atty, y1, h, lse] = rest.slice(blockSavedParams.length);
  const inputs: tf.NamedTensorMap = { dy, qkv, atty, y1, h, x };
  if (lse) inputs.lse = lse;
  blockSavedParams.forEach((k, i) => { inputs[k] = params[i]; });
  return tf.engine().runKernel(TransformerBlockGrad, inputs, attrs) as Tensor[];
}

// The kernel's own gradient, for direct runKernel callers. The unused gradients are disposed with
// tf.grads' scope (the scheme of tf.customGrad). Only y is differentiable: the other outputs are
// internal. (native/fused.ts goes through tf.customGrad instead, see there.)
export const transformerBlockGradient: GradConfig = {
  kernelName: TransformerBlock,
  inputsToSave: ['x', ...blockSavedParams],
  outputsToSave: [false, true, true, true, true, true],
  gradFunc: (dys: Tensor | Tensor[], saved: Tensor[], attrs?: NamedAttrMap) => {
    const g = transformerBlockGrads(Array.isArray(dys) ? dys[0] : dys, saved, attrs ?? {});
    const out: Record<string, () => Tensor> = { x: () => g[0] };
    blockParamNames.forEach((k, i) => { out[k] = () => g[i + 1]; });
    return out;
  },
};

export function registerTransformerBlockGradient(): void { registerGradient(transformerBlockGradient); }
