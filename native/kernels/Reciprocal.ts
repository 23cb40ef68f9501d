import { Reciprocal } from '@tensorflow/tfjs-core';
import { UnaryOp } from '../binding.ts';
import { unaryConfig } from './elementwise.ts';

export const reciprocalConfig = unaryConfig(Reciprocal, UnaryOp.Reciprocal);
