// Fused LayerNorm kernel (forward) and its gradient kernel (native/kernels/layernorm.cc). The
// gradient recomputes the row statistics from x, so only x and gamma are saved.
import { registerGradient, type GradConfig, type NamedAttrMap, type Tensor, type TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { allocF32, type Backend, config, f32, nb, sizeOf } from './util.ts';

export const LayerNorm = 'NanolabLayerNorm';
export const LayerNormGrad = 'NanolabLayerNormGrad';

export const layerNormConfig = config(LayerNorm, (args) => {
  const { x, gamma, beta } = args.inputs as { x: TensorInfo; gamma: TensorInfo; beta: TensorInfo };
  const backend = args.backend as Backend;
  const C = x.shape[x.shape.length - 1];
  const out = allocF32(backend, sizeOf(x.shape));
  if (out.length > 0) {
    nb().layerNormForward(out, f32(backend, x), f32(backend, gamma), f32(backend, beta), out.length / C, C,
      args.attrs!.eps as number);
  }
  return backend.makeTensorInfo(x.shape, 'float32', out);
});

export const layerNormGradConfig = config(LayerNormGrad, (args) => {
  const { dy, x, gamma } = args.inputs as { dy: TensorInfo; x: TensorInfo; gamma: TensorInfo };
  const backend = args.backend as Backend;
  const C = x.shape[x.shape.length - 1];
  const n = sizeOf(x.shape);
  const dx = allocF32(backend, n), dgamma = allocF32(backend, C, n === 0), dbeta = allocF32(backend, C, n === 0);
  if (n > 0) {
    nb().layerNormBackward(dx, dgamma, dbeta, f32(backend, dy), f32(backend, x), f32(backend, gamma), n / C, C,
      args.attrs!.eps as number);
  }
  return [backend.makeTensorInfo(x.shape, 'float32', dx), backend.makeTensorInfo([C], 'float32', dgamma),
    backend.makeTensorInfo([C], 'float32', dbeta)];
});

// All three gradients come from one backward call, made when backprop reaches this node; an
// unused one is disposed with tf.grads' scope (the scheme of tf.customGrad).
export const layerNormGradient: GradConfig = {
  kernelName: LayerNorm,
  inputsToSave: ['x', 'gamma'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs?: NamedAttrMap) => {
    const [x, gamma] = saved;
    const [dx, dgamma, dbeta] = tf.engine().runKernel(LayerNormGrad, { dy: dy as Tensor, x, gamma }, attrs) as Tensor[];
    return { x: () => dx, gamma: () => dgamma, beta: () => dbeta };
  },
};

export function registerLayerNormGradient(): void { registerGradient(layerNormGradient); }
