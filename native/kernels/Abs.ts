import { Abs } from '@tensorflow/tfjs-core';
import { UnaryOp } from '../binding.ts';
import { unaryConfig } from './elementwise.ts';

export const absConfig = unaryConfig(Abs, UnaryOp.Abs);
