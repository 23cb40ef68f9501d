import { Multiply } from '@tensorflow/tfjs-core';
import { BinaryOp } from '../binding.ts';
import { binaryConfig } from './elementwise.ts';

export const multiplyConfig = binaryConfig(Multiply, BinaryOp.Mul);
