import { LogicalAnd } from '@tensorflow/tfjs-core';
import { BinaryOp } from '../binding.ts';
import { binaryConfig } from './elementwise.ts';

export const logicalAndConfig = binaryConfig(LogicalAnd, BinaryOp.LogicalAnd, 'bool');
