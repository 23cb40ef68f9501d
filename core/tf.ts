// The one place that loads TensorFlow.js. tfjs-core's Node bundle has no gradients and no
// chained ops (x.reshape(...)); the @tensorflow/tfjs package registers both, in tfjs' global
// registries, and brings the JS CPU backend that every other backend falls back to. PROD
// silences tfjs' banner about installing tfjs-node (nanolab has its own native backend).
import '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import type {} from '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';

tf.env().set('PROD', true);

export * from '@tensorflow/tfjs-core';
