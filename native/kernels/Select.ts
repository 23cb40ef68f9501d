// Select (tf.where): the op broadcasts condition, t and e to one shape before the kernel.
import { Select, upcastType, util, type TensorInfo } from '@tensorflow/tfjs-core';
import { alloc, config, cpuKernel, isNumeric, nb, raw, sizeOf, type Backend } from './util.ts';

const fallback = cpuKernel(Select);

export const selectConfig = config(Select, (args) => {
  const { condition, t, e } = args.inputs as { condition: TensorInfo; t: TensorInfo; e: TensorInfo };
  if (!isNumeric(t.dtype) || !isNumeric(e.dtype) || !util.arraysEqual(condition.shape, t.shape) ||
    !util.arraysEqual(t.shape, e.shape)) return fallback(args);
  const backend = args.backend as Backend;
  const dtype = upcastType(t.dtype, e.dtype);
  const out = alloc(backend, dtype, sizeOf(t.shape));
  nb().select(raw(backend, condition), raw(backend, t), raw(backend, e), out);
  return backend.makeTensorInfo(t.shape, dtype, out);
});
