import { SquaredDifference } from '@tensorflow/tfjs-core';
import { BinaryOp } from '../binding.ts';
import { binaryConfig } from './elementwise.ts';

export const squaredDifferenceConfig = binaryConfig(SquaredDifference, BinaryOp.SquaredDifference);
