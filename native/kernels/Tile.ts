import { Tile, type TensorInfo } from '@tensorflow/tfjs-core';
import { alloc, config, cpuKernel, isNumeric, nb, setDims, sizeOf, typed, type Backend } from './util.ts';

const fallback = cpuKernel(Tile);

export const tileConfig = config(Tile, (args) => {
  const x = args.inputs.x as TensorInfo;
  const reps = args.attrs!.reps as number[];
  if (!isNumeric(x.dtype) || x.shape.length > 16 || reps.length !== x.shape.length) return fallback(args);
  const backend = args.backend as Backend;
  const shape = x.shape.map((s, i) => s * reps[i]);
  const out = alloc(backend, x.dtype, sizeOf(shape));
  if (out.length > 0) {
    setDims(x.shape, reps);
    nb().tile(typed(backend, x), out, x.shape.length);
  }
  return backend.makeTensorInfo(shape, x.dtype, out);
});
