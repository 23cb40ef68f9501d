// Unpack (tf.unstack): the inverse of Pack, one copy pass writing every output. (tfjs' cpu
// kernel returns views into the input for axis 0; copies keep every tensor's memory its own.)
import { Unpack, util, type TensorInfo } from '@tensorflow/tfjs-core';
import { alloc, config, cpuKernel, isNumeric, nb, sizeOf, typed, type Backend } from './util.ts';

const fallback = cpuKernel(Unpack);

export const unpackConfig = config(Unpack, (args) => {
  const { value } = args.inputs as { value: TensorInfo };
  const backend = args.backend as Backend;
  if (!isNumeric(value.dtype)) return fallback(args);
  const axis = util.parseAxisParam(args.attrs!.axis as number, value.shape)[0];
  const num = value.shape[axis];
  if (num > 1024) return fallback(args);
  const shape = [...value.shape.slice(0, axis), ...value.shape.slice(axis + 1)];
  const n = sizeOf(shape);
  const outs = Array.from({ length: num }, () => alloc(backend, value.dtype, n));
  if (n > 0) {
    nb().dims.fill(sizeOf(value.shape.slice(axis + 1)), 0, num);
    nb().split(typed(backend, value), outs, sizeOf(value.shape.slice(0, axis)));
  }
  return outs.map((o) => backend.makeTensorInfo(shape, value.dtype, o));
});
