import { LogicalOr } from '@tensorflow/tfjs-core';
import { BinaryOp } from '../binding.ts';
import { binaryConfig } from './elementwise.ts';

export const logicalOrConfig = binaryConfig(LogicalOr, BinaryOp.LogicalOr, 'bool');
