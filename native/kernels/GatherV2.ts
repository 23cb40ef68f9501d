// GatherV2 (embedding lookup): x viewed as (batch, outer, dim, slice), rows copied by index.
// Out-of-range indices throw the same error as tfjs' cpu kernel (checked in C++).
import { backend_util, GatherV2, util, type TensorInfo } from '@tensorflow/tfjs-core';
import { alloc, config, cpuKernel, isNumeric, nb, raw, sizeOf, typed, type Backend } from './util.ts';

const fallback = cpuKernel(GatherV2);

export const gatherV2Config = config(GatherV2, (args) => {
  const { x, indices } = args.inputs as { x: TensorInfo; indices: TensorInfo };
  const backend = args.backend as Backend;
  if (!isNumeric(x.dtype) || !isNumeric(indices.dtype)) return fallback(args);
  const axis = util.parseAxisParam(args.attrs!.axis as number, x.shape)[0];
  const batchDims = (args.attrs!.batchDims as number | undefined) ?? 0;
  const info = backend_util.segment_util.collectGatherOpShapeInfo(x, indices, axis, batchDims);
  const out = alloc(backend, x.dtype, sizeOf(info.outputShape));
  nb().gather(typed(backend, x), raw(backend, indices), out, info.batchSize, info.outerSize, info.dimSize, info.sliceSize);
  return backend.makeTensorInfo(info.outputShape, x.dtype, out);
});
