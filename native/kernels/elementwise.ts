// Factories for the element-wise kernels (one file per kernel uses them, e.g. Exp.ts). Output
// dtypes follow tfjs' cpu kernels: unary ops keep the input dtype unless noted (Exp: float32,
// LogicalNot: bool), binary ops take the first input's dtype (the tfjs ops have already made
// both inputs agree), comparisons give bool.
import { backend_util, type DataType, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { BinaryOp, UnaryOp } from '../binding.ts';
import { alloc, broadcastStrides, config, cpuKernel, isNumeric, nb, raw, setDims, sizeOf, type Backend } from './util.ts';

export function unaryConfig(kernelName: string, op: UnaryOp, outDtype?: DataType): KernelConfig {
  const fallback = cpuKernel(kernelName);
  const kernelFunc: KernelFunc = (args) => {
    const x = args.inputs.x as TensorInfo;
    if (!isNumeric(x.dtype)) return fallback(args);
    const backend = args.backend as Backend;
    const dtype = outDtype ?? x.dtype;
    const out = alloc(backend, dtype, sizeOf(x.shape));
    nb().unary(op, raw(backend, x), out, (args.attrs?.alpha as number | undefined) ?? 0);
    return backend.makeTensorInfo(x.shape, dtype, out);
  };
  return config(kernelName, kernelFunc);
}

export function binaryConfig(kernelName: string, op: BinaryOp, outDtype?: DataType): KernelConfig {
  const fallback = cpuKernel(kernelName);
  const kernelFunc: KernelFunc = (args) => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    if (!isNumeric(a.dtype) || !isNumeric(b.dtype)) return fallback(args);
    const backend = args.backend as Backend;
    const dtype = outDtype ?? a.dtype;
    const outShape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const out = alloc(backend, dtype, sizeOf(outShape));
    if (out.length > 0) {
      setDims(outShape, broadcastStrides(a.shape, outShape), broadcastStrides(b.shape, outShape));
      nb().binary(op, raw(backend, a), raw(backend, b), out, outShape.length);
    }
    return backend.makeTensorInfo(outShape, dtype, out);
  };
  return config(kernelName, kernelFunc);
}
