import { Sum, upcastType } from '@tensorflow/tfjs-core';
import { ReduceOp } from '../binding.ts';
import { reduceConfig } from './reduce.ts';

export const sumConfig = reduceConfig(Sum, ReduceOp.Sum, 'axis', (d) => (d === 'bool' ? 'int32' : upcastType(d, 'int32')));
