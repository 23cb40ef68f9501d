// Concat as a 2-d copy: each input viewed as (outer, width), outer = product of the dims before
// the axis. Inputs of size 0 are skipped and a single remaining input is returned as is (an
// identity sharing its data), as tfjs' cpu kernel does.
import { backend_util, Concat, util, type TensorInfo } from '@tensorflow/tfjs-core';
import { alloc, config, cpuKernel, isNumeric, nb, sizeOf, typed, type Backend } from './util.ts';

const fallback = cpuKernel(Concat);
const identity = cpuKernel('Identity');

export const concatConfig = config(Concat, (args) => {
  const inputs = args.inputs as unknown as TensorInfo[];
  const backend = args.backend as Backend;
  const dtype = inputs[0].dtype;
  if (!isNumeric(dtype) || inputs.length > 1024 || inputs.some((t) => t.dtype !== dtype)) return fallback(args);
  const axis = util.parseAxisParam(args.attrs!.axis as number, inputs[0].shape)[0];
  backend_util.assertParamsConsistent(inputs.map((t) => t.shape), axis);
  const outShape = backend_util.computeOutShape(inputs.map((t) => t.shape), axis);
  if (sizeOf(outShape) === 0) return backend.makeTensorInfo(outShape, dtype, alloc(backend, dtype, 0));
  const parts = inputs.filter((t) => sizeOf(t.shape) > 0);
  if (parts.length === 1) return identity({ inputs: { x: parts[0] }, backend });
  return concatParts(backend, parts.map((t) => typed(backend, t)), parts.map((t) => sizeOf(t.shape.slice(axis))),
    sizeOf(outShape.slice(0, axis)), outShape, dtype);
});

/** Writes the (outer, width_i) parts side by side into a new tensor of outShape. */
export function concatParts(backend: Backend, values: ReturnType<typeof typed>[], widths: number[], outer: number,
  outShape: number[], dtype: TensorInfo['dtype']): TensorInfo {
  const out = alloc(backend, dtype, sizeOf(outShape));
  nb().dims.set(widths);
  nb().concat(values, out, outer);
  return backend.makeTensorInfo(outShape, dtype, out);
}
