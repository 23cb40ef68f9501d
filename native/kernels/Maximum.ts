import { Maximum } from '@tensorflow/tfjs-core';
import { BinaryOp } from '../binding.ts';
import { binaryConfig } from './elementwise.ts';

export const maximumConfig = binaryConfig(Maximum, BinaryOp.Max);
