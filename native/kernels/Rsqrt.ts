import { Rsqrt } from '@tensorflow/tfjs-core';
import { UnaryOp } from '../binding.ts';
import { unaryConfig } from './elementwise.ts';

export const rsqrtConfig = unaryConfig(Rsqrt, UnaryOp.Rsqrt);
