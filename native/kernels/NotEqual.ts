import { NotEqual } from '@tensorflow/tfjs-core';
import { BinaryOp } from '../binding.ts';
import { binaryConfig } from './elementwise.ts';

export const notEqualConfig = binaryConfig(NotEqual, BinaryOp.NotEqual, 'bool');
