import { ArgMax } from '@tensorflow/tfjs-core';
import { ReduceOp } from '../binding.ts';
import { reduceConfig } from './reduce.ts';

export const argMaxConfig = reduceConfig(ArgMax, ReduceOp.ArgMax, 'axis', () => 'int32');
