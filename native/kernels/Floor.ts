import { Floor } from '@tensorflow/tfjs-core';
import { UnaryOp } from '../binding.ts';
import { unaryConfig } from './elementwise.ts';

export const floorConfig = unaryConfig(Floor, UnaryOp.Floor);
