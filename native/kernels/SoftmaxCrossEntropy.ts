// Fused softmax cross-entropy from logits (native/kernels/cross_entropy.cc): a scalar mean loss,
// and a gradient kernel that recomputes the softmax from the saved logits.
import { registerGradient, type GradConfig, type Tensor, type TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { allocF32, type Backend, config, f32, nb, raw, sizeOf } from './util.ts';

export const SoftmaxCrossEntropy = 'NanolabSoftmaxCrossEntropy';
export const SoftmaxCrossEntropyGrad = 'NanolabSoftmaxCrossEntropyGrad';

export const softmaxCrossEntropyConfig = config(SoftmaxCrossEntropy, (args) => {
  const { logits, targets } = args.inputs as { logits: TensorInfo; targets: TensorInfo };
  const backend = args.backend as Backend;
  const V = logits.shape[logits.shape.length - 1];
  const N = sizeOf(logits.shape) / V;
  const loss = nb().crossEntropyForward(f32(backend, logits), raw(backend, targets), N, V);
  return backend.makeTensorInfo([], 'float32', new Float32Array([loss]));
});

export const softmaxCrossEntropyGradConfig = config(SoftmaxCrossEntropyGrad, (args) => {
  const { dy, logits, targets } = args.inputs as { dy: TensorInfo; logits: TensorInfo; targets: TensorInfo };
  const backend = args.backend as Backend;
  const V = logits.shape[logits.shape.length - 1];
  const n = sizeOf(logits.shape);
  const out = allocF32(backend, n);
  nb().crossEntropyBackward(out, f32(backend, logits), raw(backend, targets), n / V, V, f32(backend, dy)[0]);
  return backend.makeTensorInfo(logits.shape, 'float32', out);
});

export const softmaxCrossEntropyGradient: GradConfig = {
  kernelName: SoftmaxCrossEntropy,
  inputsToSave: ['logits', 'targets'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
    const [logits, targets] = saved;
    return {
      logits: () => tf.engine().runKernel(SoftmaxCrossEntropyGrad, { dy: dy as Tensor, logits, targets }, {}) as Tensor,
      targets: () => tf.zeros(targets.shape, 'float32'),
    };
  },
};

export function registerSoftmaxCrossEntropyGradient(): void { registerGradient(softmaxCrossEntropyGradient); }
