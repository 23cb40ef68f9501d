// AdamW over every parameter in one launch (src/rowwise.cu adamw), in place on the variables'
// device memory. A variable whose data another tensor shares (refCount > 1: a clone, a reshape,
// tf.variable(t) of a live t) first gets a private copy through assign, so the update never shows
// through another tensor. Same constants and float operations as native/kernels/AdamW.ts.
import * as tf from '@tensorflow/tfjs-core';
import type { AdamWHyper } from '../../../core/ops/registry.ts';
import { adamwStepConstants, checkAdamWArgs } from '../../kernels/AdamW.ts';
import { cb, type Backend } from './util.ts';

function ownPtr(backend: Backend, t: tf.Variable): number {
  if (backend.refCount(t.dataId) > 1) {
    const fresh = backend.makeOutput(t.shape, 'float32');
    cb().copyDevice(backend.ptr(fresh), backend.ptr(t), 4 * t.size);
    const ft = tf.engine().makeTensorFromTensorInfo(fresh);
    t.assign(ft);
    ft.dispose();
  }
  return backend.ptr(t);
}

export function adamwCuda(params: tf.Variable[], grads: tf.Tensor[], m: tf.Variable[], v: tf.Variable[], hp: AdamWHyper,
  decay: boolean[]): void {
  const backend = tf.backend() as Backend;
  checkAdamWArgs(params, grads, m, v, decay);
  for (let i = 0; i < params.length; i++) {
    if (params[i].dtype !== 'float32' || grads[i].dtype !== 'float32') throw new Error('adamw: parameters and gradients must be float32');
  }
  const p = params.map((t) => ownPtr(backend, t)), mm = m.map((t) => ownPtr(backend, t)), vv = v.map((t) => ownPtr(backend, t));
  const g = grads.map((t) => backend.ptr(t));
  const { flags, constants } = adamwStepConstants(hp, decay);
  const [decayFactor, b1, omb1, b2, omb2, sqrtBc2, eps, stepSize] = constants;
  cb().adamw(p, g, mm, vv, params.map((t) => t.size), flags, decayFactor, b1, omb1, b2, omb2, sqrtBc2, eps, stepSize);
}
