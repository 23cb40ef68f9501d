import { Transpose, type TensorInfo } from '@tensorflow/tfjs-core';
import { alloc, config, cpuKernel, isNumeric, nb, setDims, sizeOf, typed, type Backend } from './util.ts';

const fallback = cpuKernel(Transpose);

export const transposeConfig = config(Transpose, (args) => {
  const x = args.inputs.x as TensorInfo;
  const perm = args.attrs!.perm as number[];
  if (!isNumeric(x.dtype) || x.shape.length > 16) return fallback(args);
  const backend = args.backend as Backend;
  const shape = perm.map((p) => x.shape[p]);
  const out = alloc(backend, x.dtype, sizeOf(shape));
  if (out.length > 0) {
    setDims(x.shape, perm);
    nb().transpose(typed(backend, x), out, x.shape.length);
  }
  return backend.makeTensorInfo(shape, x.dtype, out);
});
