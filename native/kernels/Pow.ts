import { Pow } from '@tensorflow/tfjs-core';
import { BinaryOp } from '../binding.ts';
import { binaryConfig } from './elementwise.ts';

export const powConfig = binaryConfig(Pow, BinaryOp.Pow);
