import { Less } from '@tensorflow/tfjs-core';
import { BinaryOp } from '../binding.ts';
import { binaryConfig } from './elementwise.ts';

export const lessConfig = binaryConfig(Less, BinaryOp.Less, 'bool');
