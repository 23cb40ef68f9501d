import { Neg } from '@tensorflow/tfjs-core';
import { UnaryOp } from '../binding.ts';
import { unaryConfig } from './elementwise.ts';

export const negConfig = unaryConfig(Neg, UnaryOp.Neg);
