import { Tanh } from '@tensorflow/tfjs-core';
import { UnaryOp } from '../binding.ts';
import { unaryConfig } from './elementwise.ts';

export const tanhConfig = unaryConfig(Tanh, UnaryOp.Tanh);
