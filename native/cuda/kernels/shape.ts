// Creation, shape and indexing kernels on the device (src/tensor_ops.cu): views that share data
// (Reshape, Identity: one more reference), and copies (Transpose, Slice, Concat, Pack, Unpack,
// SplitV, Tile, PadV2, GatherV2) plus fills (Fill, ZerosLike, OnesLike, Range, OneHot).
import {
  Concat, Fill, GatherV2, Identity, OneHot, OnesLike, Pack, PadV2, Range, Reshape, Slice, SplitV, Tile, Transpose, Unpack,
  ZerosLike, backend_util, slice_util, util, type DataType, type KernelConfig, type KernelFunc, type TensorInfo,
} from '@tensorflow/tfjs-core';
import { cb, dtypeCode, kernel, onDevice, setDims, sizeOf, type Backend } from './util.ts';

type Fallback = (name: string) => KernelFunc;
const dt = (t: { dtype: DataType }) => dtypeCode(t.dtype) as number;

/** The same data under another shape (or the same), one more reference: no copy. */
function view(backend: Backend, x: TensorInfo, shape: number[]): TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape, dtype: x.dtype };
}

/** Writes (outer, width_i) parts side by side into a new tensor of outShape. */
function concatParts(backend: Backend, parts: TensorInfo[], widths: number[], outer: number, outShape: number[], dtype: DataType): TensorInfo {
  const out = backend.makeOutput(outShape, dtype);
  if (sizeOf(outShape) > 0) {
    setDims(widths);
    cb().concat(dtypeCode(dtype) as number, parts.map((p) => backend.ptr(p)), backend.ptr(out), outer);
  }
  return out;
}

export function shapeKernels(fallback: Fallback): KernelConfig[] {
  return [
    kernel(Reshape, (args) => {
      const x = args.inputs.x as TensorInfo;
      const shape = util.inferFromImplicitShape(args.attrs!.shape as number[], sizeOf(x.shape));
      util.assert(sizeOf(shape) === sizeOf(x.shape), () => `new shape ${shape} and old shape ${x.shape} must have the same number of elements`);
      return view(args.backend as Backend, x, shape);
    }),
    kernel(Identity, (args) => view(args.backend as Backend, args.inputs.x as TensorInfo, (args.inputs.x as TensorInfo).shape)),

    kernel(Transpose, (args) => {
      const x = args.inputs.x as TensorInfo;
      const perm = args.attrs!.perm as number[];
      if (!onDevice(x) || x.shape.length > 8) return fallback(Transpose)(args);
      const backend = args.backend as Backend;
      const out = backend.makeOutput(perm.map((p) => x.shape[p]), x.dtype);
      if (sizeOf(x.shape) > 0) {
        setDims(x.shape, perm);
        cb().transpose(dt(x), backend.ptr(x), backend.ptr(out), x.shape.length);
      }
      return out;
    }),

    kernel(Slice, (args) => {
      const x = args.inputs.x as TensorInfo;
      if (!onDevice(x) || x.shape.length > 8) return fallback(Slice)(args);
      const backend = args.backend as Backend;
      const [begin, size] = slice_util.parseSliceParams(x, args.attrs!.begin as number[], args.attrs!.size as number[]);
      slice_util.assertParamsValid(x, begin, size);
      const out = backend.makeOutput(size, x.dtype);
      if (sizeOf(size) > 0) {
        setDims(x.shape, begin, size);
        cb().slice(dt(x), backend.ptr(x), backend.ptr(out), x.shape.length);
      }
      return out;
    }),

    kernel(Concat, (args) => {
      const inputs = (Array.isArray(args.inputs) ? args.inputs : Object.values(args.inputs)) as TensorInfo[];
      const backend = args.backend as Backend;
      const dtype = inputs[0].dtype;
      if (!onDevice(...inputs) || inputs.length > 200 || inputs.some((t) => t.dtype !== dtype)) return fallback(Concat)(args);
      const axis = util.parseAxisParam(args.attrs!.axis as number, inputs[0].shape)[0];
      backend_util.assertParamsConsistent(inputs.map((t) => t.shape), axis);
      const outShape = backend_util.computeOutShape(inputs.map((t) => t.shape), axis);
      const parts = inputs.filter((t) => sizeOf(t.shape) > 0);
      if (parts.length === 1) return view(backend, parts[0], outShape);
      return concatParts(backend, parts, parts.map((t) => sizeOf(t.shape.slice(axis))), sizeOf(outShape.slice(0, axis)), outShape, dtype);
    }),

    kernel(Pack, (args) => {
      const inputs = (Array.isArray(args.inputs) ? args.inputs : Object.values(args.inputs)) as TensorInfo[];
      const axis = args.attrs!.axis as number;
      const { shape, dtype } = inputs[0];
      if (!onDevice(...inputs) || inputs.length > 200 || inputs.some((t) => t.dtype !== dtype)) return fallback(Pack)(args);
      for (const t of inputs) util.assertShapesMatch(shape, t.shape, 'All tensors passed to stack must have matching shapes');
      const outShape = [...shape.slice(0, axis), inputs.length, ...shape.slice(axis)];
      const width = sizeOf(shape.slice(axis));
      return concatParts(args.backend as Backend, inputs, inputs.map(() => width), sizeOf(shape.slice(0, axis)), outShape, dtype);
    }),

    kernel(Unpack, (args) => {
      const { value } = args.inputs as { value: TensorInfo };
      if (!onDevice(value)) return fallback(Unpack)(args);
      const backend = args.backend as Backend;
      const axis = util.parseAxisParam(args.attrs!.axis as number, value.shape)[0];
      const num = value.shape[axis];
      if (num > 200) return fallback(Unpack)(args);
      const shape = [...value.shape.slice(0, axis), ...value.shape.slice(axis + 1)];
      const outs = Array.from({ length: num }, () => backend.makeOutput(shape, value.dtype));
      if (sizeOf(shape) > 0) {
        setDims(outs.map(() => sizeOf(value.shape.slice(axis + 1))));
        cb().split(dt(value), backend.ptr(value), outs.map((o) => backend.ptr(o)), sizeOf(value.shape.slice(0, axis)));
      }
      return outs;
    }),

    kernel(SplitV, (args) => {
      const x = args.inputs.x as TensorInfo;
      if (!onDevice(x)) return fallback(SplitV)(args);
      const backend = args.backend as Backend;
      const axis = util.parseAxisParam(args.attrs!.axis as number, x.shape)[0];
      const sizes = backend_util.prepareSplitSize(x, args.attrs!.numOrSizeSplits as number[] | number, axis);
      if (sizes.length > 200) return fallback(SplitV)(args);
      const inner = sizeOf(x.shape.slice(axis + 1));
      const outs = sizes.map((s) => backend.makeOutput([...x.shape.slice(0, axis), s, ...x.shape.slice(axis + 1)], x.dtype));
      if (sizeOf(x.shape) > 0) {
        setDims(sizes.map((s) => s * inner));
        cb().split(dt(x), backend.ptr(x), outs.map((o) => backend.ptr(o)), sizeOf(x.shape.slice(0, axis)));
      }
      return outs;
    }),

    kernel(Tile, (args) => {
      const x = args.inputs.x as TensorInfo;
      const reps = args.attrs!.reps as number[];
      if (!onDevice(x) || x.shape.length > 8) return fallback(Tile)(args);
      const backend = args.backend as Backend;
      const out = backend.makeOutput(x.shape.map((d, i) => d * reps[i]), x.dtype);
      if (sizeOf(out.shape) > 0) {
        setDims(x.shape, reps);
        cb().tile(dt(x), backend.ptr(x), backend.ptr(out), x.shape.length);
      }
      return out;
    }),

    kernel(PadV2, (args) => {
      const x = args.inputs.x as TensorInfo;
      const paddings = args.attrs!.paddings as [number, number][];
      if (!onDevice(x) || x.shape.length > 8) return fallback(PadV2)(args);
      const backend = args.backend as Backend;
      const out = backend.makeOutput(x.shape.map((d, i) => paddings[i][0] + d + paddings[i][1]), x.dtype);
      if (sizeOf(out.shape) > 0) {
        setDims(x.shape, paddings.map((p) => p[0]), paddings.map((p) => p[1]));
        cb().pad(dt(x), backend.ptr(x), backend.ptr(out), x.shape.length, args.attrs!.constantValue as number);
      }
      return out;
    }),

    kernel(GatherV2, (args) => {
      const { x, indices } = args.inputs as { x: TensorInfo; indices: TensorInfo };
      if (!onDevice(x) || indices.dtype !== 'int32') return fallback(GatherV2)(args);
      const backend = args.backend as Backend;
      const axis = util.parseAxisParam(args.attrs!.axis as number, x.shape)[0];
      const batchDims = (args.attrs!.batchDims as number | undefined) ?? 0;
      const info = backend_util.segment_util.collectGatherOpShapeInfo(x, indices, axis, batchDims);
      // a bad index throws the CPU backend's error (the device kernel alone would write a zero row)
      const bad = cb().gatherCheck(backend.ptr(indices), sizeOf(indices.shape), info.dimSize);
      if (bad) throw new Error(`GatherV2: the index value ${bad.value} is not in [0, ${info.dimSize - 1}]`);
      const out = backend.makeOutput(info.outputShape, x.dtype);
      if (sizeOf(info.outputShape) > 0) {
        cb().gather(dt(x), backend.ptr(x), backend.ptr(indices), backend.ptr(out), info.batchSize, info.outerSize, info.dimSize,
          info.sliceSize, sizeOf(indices.shape) / info.batchSize);
      }
      return out;
    }),

    kernel(Fill, (args) => {
      const { shape, value, dtype } = args.attrs as { shape: number[]; value: number; dtype?: DataType };
      const d = dtype ?? util.inferDtype(value);
      if (dtypeCode(d) < 0) return fallback(Fill)(args);
      const backend = args.backend as Backend;
      const out = backend.makeOutput(shape, d);
      if (sizeOf(shape) > 0) cb().fill(backend.ptr(out), sizeOf(shape), value, dtypeCode(d) as number);
      return out;
    }),
    ...([[ZerosLike, 0], [OnesLike, 1]] as const).map(([name, value]) => kernel(name, (args) => {
      const x = args.inputs.x as TensorInfo;
      if (!onDevice(x)) return fallback(name)(args);
      const backend = args.backend as Backend;
      const out = backend.makeOutput(x.shape, x.dtype);
      if (sizeOf(x.shape) > 0) cb().fill(backend.ptr(out), sizeOf(x.shape), value, dt(x));
      return out;
    })),

    kernel(Range, (args) => {
      const { start, stop, step, dtype } = args.attrs as { start: number; stop: number; step: number; dtype: 'float32' | 'int32' };
      const backend = args.backend as Backend;
      const n = start === stop ? 0 : Math.max(Math.ceil(Math.abs((stop - start) / step)), 0);
      if (n > 0 && ((step > 0 && start > stop) || (step < 0 && start < stop))) return fallback(Range)(args);
      const out = backend.makeOutput([n], dtype);
      if (n > 0) cb().range(backend.ptr(out), n, start, step, dtypeCode(dtype) as number);
      return out;
    }),

    kernel(OneHot, (args) => {
      const { indices } = args.inputs as { indices: TensorInfo };
      const { depth, onValue, offValue, dtype } = args.attrs as { depth: number; onValue: number; offValue: number; dtype: DataType };
      const d = dtype ?? 'int32';
      if (indices.dtype !== 'int32' || dtypeCode(d) < 0) return fallback(OneHot)(args);
      const backend = args.backend as Backend;
      const out = backend.makeOutput([...indices.shape, depth], d);
      if (sizeOf(out.shape) > 0) cb().oneHot(backend.ptr(indices), backend.ptr(out), sizeOf(indices.shape), depth, onValue, offValue, dtypeCode(d) as number);
      return out;
    }),
  ];
}
