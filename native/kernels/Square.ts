import { Square } from '@tensorflow/tfjs-core';
import { UnaryOp } from '../binding.ts';
import { unaryConfig } from './elementwise.ts';

export const squareConfig = unaryConfig(Square, UnaryOp.Square);
