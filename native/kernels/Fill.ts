// Fill, ZerosLike, OnesLike: typed-array fills, no addon call needed.
import { Fill, util, type DataType } from '@tensorflow/tfjs-core';
import { alloc, config, cpuKernel, isNumeric, sizeOf, type Backend } from './util.ts';

const fallback = cpuKernel(Fill);

export const fillConfig = config(Fill, (args) => {
  const { shape, value } = args.attrs as { shape: number[]; value: number | string };
  const dtype = (args.attrs!.dtype as DataType | undefined) ?? util.inferDtype(value);
  if (!isNumeric(dtype) || typeof value !== 'number') return fallback(args);
  const backend = args.backend as Backend;
  const out = alloc(backend, dtype, sizeOf(shape));
  out.fill(value);
  return backend.makeTensorInfo(shape, dtype, out);
});
