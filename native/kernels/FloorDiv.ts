import { FloorDiv } from '@tensorflow/tfjs-core';
import { BinaryOp } from '../binding.ts';
import { binaryConfig } from './elementwise.ts';

export const floorDivConfig = binaryConfig(FloorDiv, BinaryOp.FloorDiv, 'int32');
