import { Erf } from '@tensorflow/tfjs-core';
import { UnaryOp } from '../binding.ts';
import { unaryConfig } from './elementwise.ts';

export const erfConfig = unaryConfig(Erf, UnaryOp.Erf);
