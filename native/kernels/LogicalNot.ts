import { LogicalNot } from '@tensorflow/tfjs-core';
import { UnaryOp } from '../binding.ts';
import { unaryConfig } from './elementwise.ts';

export const logicalNotConfig = unaryConfig(LogicalNot, UnaryOp.LogicalNot, 'bool');
