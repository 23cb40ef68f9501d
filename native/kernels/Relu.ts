import { Relu } from '@tensorflow/tfjs-core';
import { UnaryOp } from '../binding.ts';
import { unaryConfig } from './elementwise.ts';

export const reluConfig = unaryConfig(Relu, UnaryOp.Relu);
