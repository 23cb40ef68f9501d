import { OneHot, type DataType, type TensorInfo } from '@tensorflow/tfjs-core';
import { alloc, config, cpuKernel, isNumeric, nb, raw, sizeOf, type Backend } from './util.ts';

const fallback = cpuKernel(OneHot);

export const oneHotConfig = config(OneHot, (args) => {
  const { indices } = args.inputs as { indices: TensorInfo };
  const { dtype, depth, onValue, offValue } = args.attrs as { dtype: DataType; depth: number; onValue: number; offValue: number };
  if (!isNumeric(dtype) || !isNumeric(indices.dtype)) return fallback(args);
  const backend = args.backend as Backend;
  const shape = [...indices.shape, depth];
  const out = alloc(backend, dtype, sizeOf(shape), true);
  if (out.length > 0) nb().oneHot(raw(backend, indices), out, depth, onValue, offValue);
  return backend.makeTensorInfo(shape, dtype, out);
});
