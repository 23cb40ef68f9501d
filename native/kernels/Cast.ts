// Cast. Unlike tfjs' cpu kernel, a widening cast (int32/bool -> float32, bool -> int32) gets its
// own typed array instead of relabelling the old one, so later kernels read float32 as
// Float32Array and stay on their fast paths.
import { Cast, type DataType, type TensorInfo } from '@tensorflow/tfjs-core';
import { alloc, config, cpuKernel, isNumeric, nb, raw, sizeOf, type Backend } from './util.ts';

const fallback = cpuKernel(Cast);

export const castConfig = config(Cast, (args) => {
  const x = args.inputs.x as TensorInfo;
  const dtype = args.attrs!.dtype as DataType;
  if (!isNumeric(x.dtype) || !isNumeric(dtype) || x.dtype === dtype) return fallback(args);
  const backend = args.backend as Backend;
  const out = alloc(backend, dtype, sizeOf(x.shape));
  nb().cast(raw(backend, x), out);
  return backend.makeTensorInfo(x.shape, dtype, out);
});
