import { GreaterEqual } from '@tensorflow/tfjs-core';
import { BinaryOp } from '../binding.ts';
import { binaryConfig } from './elementwise.ts';

export const greaterEqualConfig = binaryConfig(GreaterEqual, BinaryOp.GreaterEqual, 'bool');
