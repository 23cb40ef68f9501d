// UnsortedSegmentSum (the gradient of GatherV2): a scatter-add of rows, O(n) instead of tfjs'
// one masked sum per segment. Ids outside [0, numSegments) are dropped, as there.
import { UnsortedSegmentSum, type TensorInfo } from '@tensorflow/tfjs-core';
import { allocF32, type Backend, config, cpuKernel, f32, nb, raw, sizeOf } from './util.ts';

const fallback = cpuKernel(UnsortedSegmentSum);

export const unsortedSegmentSumConfig = config(UnsortedSegmentSum, (args) => {
  const { x, segmentIds } = args.inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const numSegments = args.attrs!.numSegments as number;
  // tfjs' cpu kernel returns float32 for any input; other ranks of ids keep its own semantics
  if (x.dtype !== 'float32' || segmentIds.shape.length !== 1 || x.shape.length < 1) return fallback(args);
  const backend = args.backend as Backend;
  const shape = [numSegments, ...x.shape.slice(1)];
  const out = allocF32(backend, sizeOf(shape), true);
  if (out.length > 0) nb().segmentSum(f32(backend, x), raw(backend, segmentIds), out, sizeOf(x.shape.slice(1)), numSegments);
  return backend.makeTensorInfo(shape, 'float32', out);
});
