import { Exp } from '@tensorflow/tfjs-core';
import { UnaryOp } from '../binding.ts';
import { unaryConfig } from './elementwise.ts';

export const expConfig = unaryConfig(Exp, UnaryOp.Exp, 'float32');
