// PadV2 (tf.pad, and the gradient of Slice): fill with the constant, copy x into place.
import { PadV2, type TensorInfo } from '@tensorflow/tfjs-core';
import { alloc, config, cpuKernel, isNumeric, nb, setDims, sizeOf, typed, type Backend } from './util.ts';

const fallback = cpuKernel(PadV2);

export const padV2Config = config(PadV2, (args) => {
  const x = args.inputs.x as TensorInfo;
  const backend = args.backend as Backend;
  const { paddings, constantValue } = args.attrs as { paddings: Array<[number, number]>; constantValue: number };
  if (!isNumeric(x.dtype) || x.shape.length > 16) return fallback(args);
  const shape = x.shape.map((s, i) => paddings[i][0] + s + paddings[i][1]);
  const out = alloc(backend, x.dtype, sizeOf(shape), true);
  if (out.length > 0) {
    setDims(shape, paddings.map((p) => p[0]), x.shape);
    nb().pad(typed(backend, x), out, x.shape.length, constantValue);
  }
  return backend.makeTensorInfo(shape, x.dtype, out);
});
