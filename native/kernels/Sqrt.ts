import { Sqrt } from '@tensorflow/tfjs-core';
import { UnaryOp } from '../binding.ts';
import { unaryConfig } from './elementwise.ts';

export const sqrtConfig = unaryConfig(Sqrt, UnaryOp.Sqrt);
