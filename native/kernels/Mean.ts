import { Mean } from '@tensorflow/tfjs-core';
import { ReduceOp } from '../binding.ts';
import { reduceConfig } from './reduce.ts';

export const meanConfig = reduceConfig(Mean, ReduceOp.Mean, 'axis', () => 'float32');
