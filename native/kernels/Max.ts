import { Max } from '@tensorflow/tfjs-core';
import { ReduceOp } from '../binding.ts';
import { reduceConfig } from './reduce.ts';

export const maxConfig = reduceConfig(Max, ReduceOp.Max, 'reductionIndices', (d) => d);
