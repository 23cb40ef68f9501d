import { Greater } from '@tensorflow/tfjs-core';
import { BinaryOp } from '../binding.ts';
import { binaryConfig } from './elementwise.ts';

export const greaterConfig = binaryConfig(Greater, BinaryOp.Greater, 'bool');
