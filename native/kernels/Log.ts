import { Log } from '@tensorflow/tfjs-core';
import { UnaryOp } from '../binding.ts';
import { unaryConfig } from './elementwise.ts';

export const logConfig = unaryConfig(Log, UnaryOp.Log);
