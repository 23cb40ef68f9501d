// Pack (tf.stack): a concat of the inputs viewed as (outer, width) around the new axis.
import { Pack, util, type TensorInfo } from '@tensorflow/tfjs-core';
import { concatParts } from './Concat.ts';
import { config, cpuKernel, isNumeric, sizeOf, typed, type Backend } from './util.ts';

const fallback = cpuKernel(Pack);

export const packConfig = config(Pack, (args) => {
  const inputs = args.inputs as unknown as TensorInfo[];
  const axis = args.attrs!.axis as number;
  const backend = args.backend as Backend;
  const { shape, dtype } = inputs[0];
  if (inputs.length === 1 || !isNumeric(dtype) || inputs.length > 1024) return fallback(args);
  for (const t of inputs) {
    util.assertShapesMatch(shape, t.shape, 'All tensors passed to stack must have matching shapes');
    util.assert(dtype === t.dtype, () => 'All tensors passed to stack must have matching dtypes');
  }
  const outShape = [...shape.slice(0, axis), inputs.length, ...shape.slice(axis)];
  const width = sizeOf(shape.slice(axis));
  return concatParts(backend, inputs.map((t) => typed(backend, t)), inputs.map(() => width), sizeOf(shape.slice(0, axis)),
    outShape, dtype);
});
