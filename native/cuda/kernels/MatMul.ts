// BatchMatMul and _FusedMatMul on cuBLAS (src/matmul.cu; a SIMT kernel where cuBLAS is missing),
// in the precision the run asked for (setPrecision). Batches must match or one side must be a
// single matrix (what tf.matMul and the layers make); other broadcasts take the fallback.
import { BatchMatMul, _FusedMatMul, broadcast_util, util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { cb, kernel, sizeOf, type Backend } from './util.ts';

type Fallback = (name: string) => KernelFunc;

interface Plan { M: number; N: number; K: number; batch: number; sa: number; sb: number; outShape: number[] }

function plan(a: TensorInfo, b: TensorInfo, ta: boolean, tb: boolean): Plan | null {
  const ar = a.shape.length, br = b.shape.length;
  const K = ta ? a.shape[ar - 2] : a.shape[ar - 1];
  const innerB = tb ? b.shape[br - 1] : b.shape[br - 2];
  const M = ta ? a.shape[ar - 1] : a.shape[ar - 2];
  const N = tb ? b.shape[br - 2] : b.shape[br - 1];
  util.assert(K === innerB, () => `Error in matMul: inner shapes (${K}) and (${innerB}) of Tensors with shapes ${a.shape} and ` +
    `${b.shape} and transposeA=${ta} and transposeB=${tb} must match.`);
  const batchA = a.shape.slice(0, -2), batchB = b.shape.slice(0, -2);
  const batch = broadcast_util.assertAndGetBroadcastShape(batchA, batchB);
  const nA = sizeOf(batchA), nB = sizeOf(batchB), n = sizeOf(batch);
  if ((nA !== n && nA !== 1) || (nB !== n && nB !== 1)) return null;
  return { M, N, K, batch: n, sa: nA === 1 ? 0 : M * K, sb: nB === 1 ? 0 : K * N, outShape: [...batch, M, N] };
}

function matmul(backend: Backend, a: TensorInfo, b: TensorInfo, ta: boolean, tb: boolean): TensorInfo | null {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  const p = plan(a, b, ta, tb);
  if (!p) return null;
  const out = backend.makeOutput(p.outShape, 'float32');
  if (sizeOf(p.outShape) > 0) {
    cb().matmul(backend.ptr(out), backend.ptr(a), backend.ptr(b), ta, tb, p.M, p.N, p.K, p.batch, p.sa, p.sb, p.M * p.N);
  }
  return out;
}

export function matmulKernels(fallback: Fallback): KernelConfig[] {
  return [
    kernel(BatchMatMul, (args) => {
      const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
      const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
      return matmul(args.backend as Backend, a, b, transposeA, transposeB) ?? fallback(BatchMatMul)(args);
    }),
    // x W + bias [relu] (the layers' dense layers; x of any rank against a 2-d W): one GEMM over all
    // rows of x, with cuBLASLt's bias/relu epilogue
    kernel(_FusedMatMul, (args) => {
      const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, TensorInfo | undefined> as
        { a: TensorInfo; b: TensorInfo; bias?: TensorInfo; preluActivationWeights?: TensorInfo };
      const { transposeA, transposeB, activation } = args.attrs as { transposeA: boolean; transposeB: boolean; activation?: string };
      const act = activation ?? 'linear';
      const backend = args.backend as Backend;
      // tf.fused.matMul hands 2-d operands over as (1, M, K) and (1, K, N)
      const br = b.shape.length, ar = a.shape.length;
      const N = transposeB ? b.shape[br - 2] : b.shape[br - 1], K = transposeB ? b.shape[br - 1] : b.shape[br - 2];
      const oneB = br >= 2 && sizeOf(b.shape.slice(0, -2)) === 1;
      const rowsOfA = ar >= 2 && (!transposeA || sizeOf(a.shape.slice(0, -2)) === 1);
      if (a.dtype === 'float32' && b.dtype === 'float32' && !preluActivationWeights && (act === 'linear' || act === 'relu') &&
        oneB && rowsOfA && (!bias || (bias.dtype === 'float32' && sizeOf(bias.shape) === N && bias.shape.length <= 1))) {
        const M = transposeA ? a.shape[ar - 1] : sizeOf(a.shape.slice(0, -1));
        util.assert((transposeA ? a.shape[ar - 2] : a.shape[ar - 1]) === K, () => `Error in fused matMul: inner shapes of ` +
          `${a.shape} and ${b.shape} (transposeA=${transposeA}, transposeB=${transposeB}) must match.`);
        const batch = broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
        const outShape = [...batch, transposeA ? a.shape[ar - 1] : a.shape[ar - 2], N];
        const out = backend.makeOutput(outShape, 'float32');
        if (M * N > 0) {
          cb().matmulBias(backend.ptr(out), backend.ptr(a), backend.ptr(b), bias ? backend.ptr(bias) : null, act === 'relu',
            transposeA, transposeB, M, N, K);
        }
        return out;
      }
      return fallback(_FusedMatMul)(args);
    }),
  ];
}
