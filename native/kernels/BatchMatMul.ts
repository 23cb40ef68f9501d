// BatchMatMul (tf.matMul) on the packed sgemm. Batch dims broadcast numpy-style (tfjs' cpu
// kernel indexes batches modulo their count, which agrees whenever one side's batch is 1 or
// the batch shapes match, the cases tf.matMul produces).
import { BatchMatMul, broadcast_util, util, type TensorInfo } from '@tensorflow/tfjs-core';
import { allocF32, type Backend, config, cpuKernel, f32, nb, setDims, sizeOf } from './util.ts';
import { broadcastStrides } from './util.ts';

const fallback = cpuKernel(BatchMatMul);

export const batchMatMulConfig = config(BatchMatMul, (args) => {
  const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
  const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return fallback(args);
  const backend = args.backend as Backend;
  const ar = a.shape.length, br = b.shape.length;
  const innerA = transposeA ? a.shape[ar - 2] : a.shape[ar - 1];
  const innerB = transposeB ? b.shape[br - 1] : b.shape[br - 2];
  const M = transposeA ? a.shape[ar - 1] : a.shape[ar - 2];
  const N = transposeB ? b.shape[br - 2] : b.shape[br - 1];
  util.assert(innerA === innerB, () => `Error in matMul: inner shapes (${innerA}) and (` +
    `${innerB}) of Tensors with shapes ${a.shape} and ${b.shape} and transposeA=${transposeA}` +
    ` and transposeB=${transposeB} must match.`);
  const batchA = a.shape.slice(0, -2), batchB = b.shape.slice(0, -2);
  const batch = broadcast_util.assertAndGetBroadcastShape(batchA, batchB);
  const outShape = [...batch, M, N];
  const out = allocF32(backend, sizeOf(outShape));
  if (out.length > 0) {
    const sa = broadcastStrides(batchA, batch).map((s) => s * M * innerA);
    const sb = broadcastStrides(batchB, batch).map((s) => s * innerB * N);
    setDims(batch, sa, sb);
    nb().matmul(f32(backend, a), f32(backend, b), out, transposeA, transposeB, M, N, innerA, batch.length);
  }
  return backend.makeTensorInfo(outShape, 'float32', out);
});
