// SplitV (tf.split): one copy pass writing every piece, each viewed as (outer, size * inner).
import { backend_util, SplitV, util, type TensorInfo } from '@tensorflow/tfjs-core';
import { alloc, config, cpuKernel, isNumeric, nb, sizeOf, typed, type Backend } from './util.ts';

const fallback = cpuKernel(SplitV);

export const splitVConfig = config(SplitV, (args) => {
  const x = args.inputs.x as TensorInfo;
  const backend = args.backend as Backend;
  const { numOrSizeSplits } = args.attrs as { numOrSizeSplits: number[] | number };
  const axis = util.parseAxisParam(args.attrs!.axis as number, x.shape)[0];
  const sizes = backend_util.prepareSplitSize(x, numOrSizeSplits, axis);
  if (!isNumeric(x.dtype) || sizes.length > 1024) return fallback(args);
  const inner = sizeOf(x.shape.slice(axis + 1));
  const shapes = sizes.map((s) => { const sh = x.shape.slice(); sh[axis] = s; return sh; });
  const outs = shapes.map((sh) => alloc(backend, x.dtype, sizeOf(sh)));
  if (sizeOf(x.shape) > 0) {
    nb().dims.set(sizes.map((s) => s * inner));
    nb().split(typed(backend, x), outs, sizeOf(x.shape.slice(0, axis)));
  }
  return outs.map((o, i) => backend.makeTensorInfo(shapes[i], x.dtype, o));
});
