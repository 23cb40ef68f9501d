import { ArgMin } from '@tensorflow/tfjs-core';
import { ReduceOp } from '../binding.ts';
import { reduceConfig } from './reduce.ts';

export const argMinConfig = reduceConfig(ArgMin, ReduceOp.ArgMin, 'axis', () => 'int32');
