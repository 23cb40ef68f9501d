// Fused GELU (native/kernels/gelu.cc): one pass forward, one pass backward, instead of the
// composite's 5 element-wise ops and ~10 in its gradient. Offered to core/ops as `gelu`.
import { registerGradient, type GradConfig, type Tensor, type TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { allocF32, config, f32, nb, sizeOf, type Backend } from './util.ts';

export const Gelu = 'NanolabGelu';
export const GeluGrad = 'NanolabGeluGrad';

export const geluConfig = config(Gelu, (args) => {
  const { x } = args.inputs as { x: TensorInfo };
  const backend = args.backend as Backend;
  const out = allocF32(backend, sizeOf(x.shape));
  nb().geluForward(out, f32(backend, x));
  return backend.makeTensorInfo(x.shape, 'float32', out);
});

export const geluGradConfig = config(GeluGrad, (args) => {
  const { dy, x } = args.inputs as { dy: TensorInfo; x: TensorInfo };
  const backend = args.backend as Backend;
  const out = allocF32(backend, sizeOf(x.shape));
  nb().geluBackward(out, f32(backend, dy), f32(backend, x));
  return backend.makeTensorInfo(x.shape, 'float32', out);
});

export const geluGradient: GradConfig = {
  kernelName: Gelu,
  inputsToSave: ['x'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => ({
    x: () => tf.engine().runKernel(GeluGrad, { dy: dy as Tensor, x: saved[0] }, {}) as Tensor,
  }),
};

export function registerGeluGradient(): void { registerGradient(geluGradient); }
