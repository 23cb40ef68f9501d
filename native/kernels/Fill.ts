// Fill, ZerosLike, OnesLike: typed-array fills (a fresh typed array is already zero), no
// addon call needed.
import { Fill, util, type DataType } from '@tensorflow/tfjs-core';
import { alloc, config, cpuKernel, isNumeric, sizeOf, type Backend } from './util.ts';

const fallback = cpuKernel(Fill);

export const fillConfig = config(Fill, (args) => {
  const { shape, value } = args.attrs as { shape: number[]; value: number | string };
  const dtype = (args.attrs!.dtype as DataType | undefined) ?? util.inferDtype(value);
  if (!isNumeric(dtype) || typeof value !== 'number') return fallback(args);
  const out = alloc(dtype, sizeOf(shape));
  if (value !== 0 || Object.is(value, -0)) out.fill(value);
  return (args.backend as Backend).makeTensorInfo(shape, dtype, out);
});
