import { Add } from '@tensorflow/tfjs-core';
import { BinaryOp } from '../binding.ts';
import { binaryConfig } from './elementwise.ts';

export const addConfig = binaryConfig(Add, BinaryOp.Add);
