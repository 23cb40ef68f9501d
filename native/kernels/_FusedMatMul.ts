// _FusedMatMul (tf.fused.matMul): the native BatchMatMul, then bias and ReLU applied in place on
// its fresh output (no extra tensors). Other activations and PReLU weights use tfjs' cpu kernel.
import { _FusedMatMul, backend_util, util, type TensorInfo } from '@tensorflow/tfjs-core';
import { BinaryOp, UnaryOp } from '../binding.ts';
import { batchMatMulConfig } from './BatchMatMul.ts';
import { broadcastStrides } from './util.ts';
import { config, cpuKernel, nb, raw, setDims, type Backend } from './util.ts';

const fallback = cpuKernel(_FusedMatMul);

export const fusedMatMulConfig = config(_FusedMatMul, (args) => {
  const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, TensorInfo | undefined> as
    { a: TensorInfo; b: TensorInfo; bias?: TensorInfo; preluActivationWeights?: TensorInfo };
  const { transposeA, transposeB, activation } = args.attrs as { transposeA: boolean; transposeB: boolean; activation?: string };
  const act = activation ?? 'linear';
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || preluActivationWeights || (act !== 'linear' && act !== 'relu') ||
    (bias && bias.dtype !== 'float32')) return fallback(args);
  const backend = args.backend as Backend;
  const out = batchMatMulConfig.kernelFunc({ inputs: { a, b }, attrs: { transposeA, transposeB }, backend }) as TensorInfo;
  const y = raw(backend, out);
  if (bias) {
    if (!util.arraysEqual(backend_util.assertAndGetBroadcastShape(out.shape, bias.shape), out.shape)) {
      backend.disposeIntermediateTensorInfo(out);
      return fallback(args);
    }
    if (y.length > 0) {
      setDims(out.shape, broadcastStrides(out.shape, out.shape), broadcastStrides(bias.shape, out.shape));
      nb().binary(BinaryOp.Add, y, raw(backend, bias), y, out.shape.length);
    }
  }
  if (act === 'relu') nb().unary(UnaryOp.Relu, y, y, 0);
  return out;
});
