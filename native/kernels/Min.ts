import { Min } from '@tensorflow/tfjs-core';
import { ReduceOp } from '../binding.ts';
import { reduceConfig } from './reduce.ts';

export const minConfig = reduceConfig(Min, ReduceOp.Min, 'axis', (d) => d);
