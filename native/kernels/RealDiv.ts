import { RealDiv } from '@tensorflow/tfjs-core';
import { BinaryOp } from '../binding.ts';
import { binaryConfig } from './elementwise.ts';

export const realDivConfig = binaryConfig(RealDiv, BinaryOp.Div);
