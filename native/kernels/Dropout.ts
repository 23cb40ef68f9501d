// Fused dropout (native/kernels/dropout.cc): y = x * philox mask. Its gradient is the same kernel
// on dy (the mask is recomputed from seed and call id), so nothing is saved.
import { registerGradient, type GradConfig, type NamedAttrMap, type Tensor, type TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { allocF32, type Backend, config, f32, nb, sizeOf } from './util.ts';

export const Dropout = 'NanolabDropout';

export const dropoutConfig = config(Dropout, (args) => {
  const { x } = args.inputs as { x: TensorInfo };
  const backend = args.backend as Backend;
  const a = args.attrs!;
  const out = allocF32(backend, sizeOf(x.shape));
  nb().dropout(out, f32(backend, x), a.rate as number, a.seedLo as number, a.seedHi as number, a.callLo as number,
    a.callHi as number);
  return backend.makeTensorInfo(x.shape, 'float32', out);
});

export const dropoutGradient: GradConfig = {
  kernelName: Dropout,
  gradFunc: (dy: Tensor | Tensor[], _saved: Tensor[], attrs?: NamedAttrMap) => ({
    x: () => tf.engine().runKernel(Dropout, { x: dy as Tensor }, attrs) as Tensor,
  }),
};

export function registerDropoutGradient(): void { registerGradient(dropoutGradient); }
