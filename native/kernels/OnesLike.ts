import { OnesLike, type TensorInfo } from '@tensorflow/tfjs-core';
import { alloc, config, cpuKernel, isNumeric, sizeOf, type Backend } from './util.ts';

const fallback = cpuKernel(OnesLike);

export const onesLikeConfig = config(OnesLike, (args) => {
  const x = args.inputs.x as TensorInfo;
  if (!isNumeric(x.dtype)) return fallback(args);
  const backend = args.backend as Backend;
  const out = alloc(backend, x.dtype, sizeOf(x.shape));
  out.fill(1);
  return backend.makeTensorInfo(x.shape, x.dtype, out);
});
