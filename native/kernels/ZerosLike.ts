import { ZerosLike, type TensorInfo } from '@tensorflow/tfjs-core';
import { alloc, config, cpuKernel, isNumeric, sizeOf, type Backend } from './util.ts';

const fallback = cpuKernel(ZerosLike);

export const zerosLikeConfig = config(ZerosLike, (args) => {
  const x = args.inputs.x as TensorInfo;
  if (!isNumeric(x.dtype)) return fallback(args);
  const backend = args.backend as Backend;
  return backend.makeTensorInfo(x.shape, x.dtype, alloc(backend, x.dtype, sizeOf(x.shape), true));
});
