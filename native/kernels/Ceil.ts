import { Ceil } from '@tensorflow/tfjs-core';
import { UnaryOp } from '../binding.ts';
import { unaryConfig } from './elementwise.ts';

export const ceilConfig = unaryConfig(Ceil, UnaryOp.Ceil);
