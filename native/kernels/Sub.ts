import { Sub } from '@tensorflow/tfjs-core';
import { BinaryOp } from '../binding.ts';
import { binaryConfig } from './elementwise.ts';

export const subConfig = binaryConfig(Sub, BinaryOp.Sub);
