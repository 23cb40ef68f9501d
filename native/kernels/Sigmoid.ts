import { Sigmoid } from '@tensorflow/tfjs-core';
import { UnaryOp } from '../binding.ts';
import { unaryConfig } from './elementwise.ts';

export const sigmoidConfig = unaryConfig(Sigmoid, UnaryOp.Sigmoid);
