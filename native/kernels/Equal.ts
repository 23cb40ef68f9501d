import { Equal } from '@tensorflow/tfjs-core';
import { BinaryOp } from '../binding.ts';
import { binaryConfig } from './elementwise.ts';

export const equalConfig = binaryConfig(Equal, BinaryOp.Equal, 'bool');
