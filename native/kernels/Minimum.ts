import { Minimum } from '@tensorflow/tfjs-core';
import { BinaryOp } from '../binding.ts';
import { binaryConfig } from './elementwise.ts';

export const minimumConfig = binaryConfig(Minimum, BinaryOp.Min);
