// Range, with the length rules and the running float32 sum of tfjs' rangeImpl.
import { Range, type DataType } from '@tensorflow/tfjs-core';
import { alloc, config, cpuKernel, nb, type Backend } from './util.ts';

const fallback = cpuKernel(Range);

export const rangeConfig = config(Range, (args) => {
  const { start, stop, dtype } = args.attrs as { start: number; stop: number; dtype: DataType };
  let step = args.attrs!.step as number;
  if (dtype !== 'float32' && dtype !== 'int32') return fallback(args);
  const empty = start === stop || (start < stop && step < 0) || (stop < start && step > 1);
  const n = empty ? 0 : Math.abs(Math.ceil((stop - start) / step));
  const backend = args.backend as Backend;
  const out = alloc(backend, dtype, n);
  if (stop < start && step === 1) step = -1;
  if (n > 0) nb().range(out, start, step);
  return backend.makeTensorInfo([n], dtype, out);
});
