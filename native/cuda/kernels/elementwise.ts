// Element-wise kernels on the device (src/tensor_ops.cu): the unary and binary ops with the op
// codes of native/binding.ts and tfjs' output dtypes (as native/kernels/elementwise.ts), Cast,
// Select and AddN.
import {
  Abs, Add, AddN, Cast, Ceil, Equal, Erf, Exp, Floor, FloorDiv, Greater, GreaterEqual, Less, LessEqual, Log, LogicalAnd,
  LogicalNot, LogicalOr, Maximum, Minimum, Multiply, Neg, NotEqual, Pow, RealDiv, Reciprocal, Relu, Rsqrt, Select,
  Sigmoid, Sqrt, Square, SquaredDifference, Step, Sub, Tanh, backend_util, upcastType, util,
  type DataType, type KernelConfig, type KernelFunc, type TensorInfo,
} from '@tensorflow/tfjs-core';
import { BinaryOp, UnaryOp } from '../../binding.ts';
import { broadcastStrides, cb, dtypeCode, kernel, onDevice, setDims, sizeOf, stridesOf, type Backend } from './util.ts';

export function unaryKernel(kernelName: string, op: UnaryOp, outDtype?: DataType, fallback?: () => KernelFunc): KernelConfig {
  return kernel(kernelName, (args) => {
    const x = args.inputs.x as TensorInfo;
    if (!onDevice(x)) return fallback!()(args);
    const backend = args.backend as Backend;
    const dtype = outDtype ?? x.dtype;
    const out = backend.makeOutput(x.shape, dtype);
    const n = sizeOf(x.shape);
    if (n > 0) {
      cb().unary(op, dtypeCode(x.dtype) as number, dtypeCode(dtype) as number, backend.ptr(x), backend.ptr(out), n,
        (args.attrs?.alpha as number) ?? 0);
    }
    return out;
  });
}

export function binaryKernel(kernelName: string, op: BinaryOp, outDtype?: DataType, fallback?: () => KernelFunc): KernelConfig {
  return kernel(kernelName, (args) => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    if (!onDevice(a, b)) return fallback!()(args);
    const backend = args.backend as Backend;
    const dtype = outDtype ?? a.dtype;
    const outShape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const out = backend.makeOutput(outShape, dtype);
    if (sizeOf(outShape) > 0) {
      setDims(outShape, broadcastStrides(a.shape, outShape), broadcastStrides(b.shape, outShape));
      cb().binary(op, dtypeCode(a.dtype) as number, dtypeCode(b.dtype) as number, dtypeCode(dtype) as number,
        backend.ptr(a), backend.ptr(b), backend.ptr(out), outShape.length);
    }
    return out;
  });
}

/** dtype casts between float32, int32 and bool on the device; others through the fallback. */
export function castKernel(fallback: () => KernelFunc): KernelConfig {
  return kernel(Cast, (args) => {
    const x = args.inputs.x as TensorInfo;
    const dtype = args.attrs!.dtype as DataType;
    const backend = args.backend as Backend;
    if (!onDevice(x) || dtypeCode(dtype) < 0) return fallback()(args);
    if (x.dtype === dtype) {  // as tfjs' cpu Cast: the same data, one more reference
      backend.incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype };
    }
    const out = backend.makeOutput(x.shape, dtype);
    const n = sizeOf(x.shape);
    if (n > 0) cb().cast(dtypeCode(x.dtype) as number, dtypeCode(dtype) as number, backend.ptr(x), backend.ptr(out), n);
    return out;
  });
}

export function selectKernel(fallback: () => KernelFunc): KernelConfig {
  return kernel(Select, (args) => {
    const { condition, t, e } = args.inputs as { condition: TensorInfo; t: TensorInfo; e: TensorInfo };
    if (!onDevice(condition, t, e) || t.dtype !== e.dtype || condition.dtype !== 'bool' ||
      !util.arraysEqual(condition.shape, t.shape) || !util.arraysEqual(t.shape, e.shape)) return fallback()(args);
    const backend = args.backend as Backend;
    const dtype = upcastType(t.dtype, e.dtype);
    const out = backend.makeOutput(t.shape, dtype);
    const n = sizeOf(t.shape);
    if (n > 0) cb().select(backend.ptr(condition), dtypeCode(dtype) as number, backend.ptr(t), backend.ptr(e), backend.ptr(out), n);
    return out;
  });
}

/** AddN: a chain of device adds (the inputs have one shape and dtype). */
export function addNKernel(fallback: () => KernelFunc): KernelConfig {
  return kernel(AddN, (args) => {
    const xs = Object.values(args.inputs) as TensorInfo[];
    if (!onDevice(...xs) || xs.some((x) => x.dtype !== xs[0].dtype)) return fallback()(args);
    const backend = args.backend as Backend;
    const shape = xs[0].shape, n = sizeOf(shape), dt = dtypeCode(xs[0].dtype) as number;
    const out = backend.makeOutput(shape, xs[0].dtype);
    if (n === 0) return out;
    if (xs.length === 1) { cb().copyDevice(backend.ptr(out), backend.ptr(xs[0]), backend.data.get(out.dataId).bytes); return out; }
    const st = stridesOf(shape);  // same shapes: no broadcasting
    for (let i = 1; i < xs.length; i++) {
      setDims(shape, st, st);
      cb().binary(BinaryOp.Add, dt, dt, dt, backend.ptr(i === 1 ? xs[0] : out), backend.ptr(xs[i]), backend.ptr(out), shape.length);
    }
    return out;
  });
}

/** [kernel name, op, output dtype] of every unary and binary kernel with device code. */
export const unaryOps: [string, UnaryOp, DataType?][] = [
  [Abs, UnaryOp.Abs], [Ceil, UnaryOp.Ceil], [Erf, UnaryOp.Erf], [Exp, UnaryOp.Exp, 'float32'], [Floor, UnaryOp.Floor],
  [Log, UnaryOp.Log], [LogicalNot, UnaryOp.LogicalNot, 'bool'], [Neg, UnaryOp.Neg], [Reciprocal, UnaryOp.Reciprocal],
  [Relu, UnaryOp.Relu], [Rsqrt, UnaryOp.Rsqrt], [Sigmoid, UnaryOp.Sigmoid], [Sqrt, UnaryOp.Sqrt], [Square, UnaryOp.Square],
  [Step, UnaryOp.Step], [Tanh, UnaryOp.Tanh],
];
export const binaryOps: [string, BinaryOp, DataType?][] = [
  [Add, BinaryOp.Add], [Sub, BinaryOp.Sub], [Multiply, BinaryOp.Mul], [RealDiv, BinaryOp.Div], [Maximum, BinaryOp.Max],
  [Minimum, BinaryOp.Min], [Pow, BinaryOp.Pow], [SquaredDifference, BinaryOp.SquaredDifference],
  [FloorDiv, BinaryOp.FloorDiv, 'int32'], [Equal, BinaryOp.Equal, 'bool'], [NotEqual, BinaryOp.NotEqual, 'bool'],
  [Less, BinaryOp.Less, 'bool'], [LessEqual, BinaryOp.LessEqual, 'bool'], [Greater, BinaryOp.Greater, 'bool'],
  [GreaterEqual, BinaryOp.GreaterEqual, 'bool'], [LogicalAnd, BinaryOp.LogicalAnd, 'bool'], [LogicalOr, BinaryOp.LogicalOr, 'bool'],
];
