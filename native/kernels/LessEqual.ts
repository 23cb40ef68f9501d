import { LessEqual } from '@tensorflow/tfjs-core';
import { BinaryOp } from '../binding.ts';
import { binaryConfig } from './elementwise.ts';

export const lessEqualConfig = binaryConfig(LessEqual, BinaryOp.LessEqual, 'bool');
