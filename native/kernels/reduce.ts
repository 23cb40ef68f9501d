// Factory for the reductions (Sum.ts, Mean.ts, Max.ts, Min.ts, ArgMax.ts, ArgMin.ts): any set of
// axes in one pass (no transpose), output dtypes and keepDims shapes as tfjs' cpu kernels.
import { backend_util, util, type DataType, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';
import { ReduceOp } from '../binding.ts';
import { alloc, config, cpuKernel, isNumeric, nb, raw, setDims, sizeOf, type Backend } from './util.ts';

export function reduceConfig(kernelName: string, op: ReduceOp, axisAttr: string,
  outDtype: (x: DataType) => DataType): KernelConfig {
  const fallback = cpuKernel(kernelName);
  return config(kernelName, (args) => {
    const x = args.inputs.x as TensorInfo;
    if (!isNumeric(x.dtype) || x.shape.length > 16) return fallback(args);
    const backend = args.backend as Backend;
    let axes = util.parseAxisParam(args.attrs![axisAttr] as number | number[], x.shape);
    if (op === ReduceOp.ArgMax || op === ReduceOp.ArgMin) axes = [axes[0]];
    const [shape] = backend_util.computeOutAndReduceShapes(x.shape, axes);
    const dtype = outDtype(x.dtype);
    const out = alloc(backend, dtype, sizeOf(shape));
    if (out.length > 0) {
      setDims(x.shape, x.shape.map((_, d) => (axes.includes(d) ? 1 : 0)));
      nb().reduce(op, raw(backend, x), out, x.shape.length);
    }
    const keep = args.attrs!.keepDims as boolean | undefined;
    return backend.makeTensorInfo(keep ? backend_util.expandShapeToKeepDim(shape, axes) : shape, dtype, out);
  });
}
