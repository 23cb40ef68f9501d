// Slice: always a copy (tfjs' cpu kernel returns a view for contiguous slices; a copy keeps
// every tensor's memory its own, which the in-place AdamW relies on).
import { Slice, slice_util, type TensorInfo } from '@tensorflow/tfjs-core';
import { alloc, config, cpuKernel, isNumeric, nb, setDims, sizeOf, typed, type Backend } from './util.ts';

const fallback = cpuKernel(Slice);

export const sliceConfig = config(Slice, (args) => {
  const x = args.inputs.x as TensorInfo;
  const backend = args.backend as Backend;
  if (!isNumeric(x.dtype) || x.shape.length > 16) return fallback(args);
  const [begin, size] = slice_util.parseSliceParams(x, args.attrs!.begin as number[], args.attrs!.size as number[]);
  slice_util.assertParamsValid(x, begin, size);
  const out = alloc(backend, x.dtype, sizeOf(size));
  if (out.length > 0) {
    setDims(x.shape, begin, size);
    nb().slice(typed(backend, x), out, x.shape.length);
  }
  return backend.makeTensorInfo(size, x.dtype, out);
});
