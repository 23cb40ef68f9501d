// Reductions (Sum, Mean, Max, Min, ArgMax, ArgMin) and Softmax on the device (src/tensor_ops.cu).
// The device kernel reduces the innermost axes of an (outer, inner) view; other axes are first
// moved innermost by a device transpose, as tfjs' own kernels do.
import {
  ArgMax, ArgMin, Max, Mean, Min, Softmax, Sum, backend_util, upcastType, util,
  type DataType, type KernelConfig, type KernelFunc, type TensorInfo,
} from '@tensorflow/tfjs-core';
import { ReduceOp } from '../../binding.ts';
import { cb, dtypeCode, kernel, onDevice, sizeOf, type Backend } from './util.ts';

type Fallback = (name: string) => KernelFunc;

function reduceKernel(name: string, op: ReduceOp, axisAttr: string, outDtype: (x: DataType) => DataType, fallback: Fallback,
  transpose: KernelFunc): KernelConfig {
  return kernel(name, (args) => {
    const x = args.inputs.x as TensorInfo;
    if (!onDevice(x) || x.shape.length > 8) return fallback(name)(args);
    const backend = args.backend as Backend;
    let axes = util.parseAxisParam(args.attrs![axisAttr] as number | number[], x.shape);
    if (op === ReduceOp.ArgMax || op === ReduceOp.ArgMin) axes = [axes[0]];
    const perm = backend_util.getAxesPermutation(axes, x.shape.length);
    let src = x;
    if (perm != null) {
      src = transpose({ inputs: { x }, attrs: { perm }, backend }) as TensorInfo;
      axes = backend_util.getInnerMostAxes(axes.length, x.shape.length);
    }
    const [shape, reduceShape] = backend_util.computeOutAndReduceShapes(src.shape, axes);
    const dtype = outDtype(x.dtype);
    const out = backend.makeOutput(shape, dtype);
    const outer = sizeOf(shape), inner = sizeOf(reduceShape);
    if (outer > 0) {
      cb().reduce(op, dtypeCode(x.dtype) as number, dtypeCode(dtype) as number, backend.ptr(src), backend.ptr(out), outer, inner);
    }
    if (src !== x) backend.disposeIntermediateTensorInfo(src);
    const keep = args.attrs!.keepDims as boolean | undefined;
    if (keep) out.shape = backend_util.expandShapeToKeepDim(shape, util.parseAxisParam(args.attrs![axisAttr] as number | number[], x.shape));
    return out;
  });
}

export function reduceKernels(fallback: Fallback, transpose: KernelFunc): KernelConfig[] {
  return [
    // Sum of bool counts in int32; the device sums bools as int32 too
    reduceKernel(Sum, ReduceOp.Sum, 'axis', (d) => (d === 'bool' ? 'int32' : upcastType(d, 'int32')), fallback, transpose),
    reduceKernel(Mean, ReduceOp.Mean, 'axis', () => 'float32', fallback, transpose),
    reduceKernel(Max, ReduceOp.Max, 'reductionIndices', (d) => d, fallback, transpose),
    reduceKernel(Min, ReduceOp.Min, 'axis', (d) => d, fallback, transpose),
    reduceKernel(ArgMax, ReduceOp.ArgMax, 'axis', () => 'int32', fallback, transpose),
    reduceKernel(ArgMin, ReduceOp.ArgMin, 'axis', () => 'int32', fallback, transpose),
    kernel(Softmax, (args) => {
      const { logits } = args.inputs as { logits: TensorInfo };
      const rank = logits.shape.length, dim = args.attrs!.dim as number;
      if (logits.dtype !== 'float32' || (dim !== -1 && dim !== rank - 1)) return fallback(Softmax)(args);
      const backend = args.backend as Backend;
      const cols = logits.shape[rank - 1] ?? 1;
      const out = backend.makeOutput(logits.shape, 'float32');
      const n = sizeOf(logits.shape);
      if (n > 0) cb().softmax(backend.ptr(out), backend.ptr(logits), n / cols, cols);
      return out;
    }),
  ];
}

