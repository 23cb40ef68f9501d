import { Step } from '@tensorflow/tfjs-core';
import { UnaryOp } from '../binding.ts';
import { unaryConfig } from './elementwise.ts';

export const stepConfig = unaryConfig(Step, UnaryOp.Step);
