// AdamW over every parameter in one launch (src/rowwise.cu adamw), in place on the variables'
// device memory. A variable whose data another tensor shares (refCount > 1: a clone, a reshape,
// tf.variable(t) of a live t) first gets a private copy through assign, so the update never shows
// through another tensor. Same constants and float operations as native/kernels/AdamW.ts.
import * as tf from '@tensorflow/tfjs-core';
import type { AdamWHyper } from '../../../core/ops/registry.ts';
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
  const n = params.length;
  if (grads.length !== n || m.length !== n || v.length !== n || decay.length !== n) {
    throw new Error('adamw: params, grads, m, v and decay must have one entry per parameter');
  }
  for (let i = 0; i < n; i++) {
    if (!tf.util.arraysEqual(params[i].shape, grads[i].shape)) {
      throw new Error(`adamw: gradient ${i} has shape ${grads[i].shape}, parameter ${params[i].shape}`);
    }
    if (params[i].dtype !== 'float32' || grads[i].dtype !== 'float32') throw new Error('adamw: parameters and gradients must be float32');
  }
  const p = params.map((t) => ownPtr(backend, t)), mm = m.map((t) => ownPtr(backend, t)), vv = v.map((t) => ownPtr(backend, t));
  const g = grads.map((t) => backend.ptr(t));
  const flags = Uint8Array.from(decay, (d) => (d && hp.weightDecay > 0 ? 1 : 0));
  const bc1 = 1 - Math.pow(hp.beta1, hp.step);
  const bc2 = 1 - Math.pow(hp.beta2, hp.step);
  cb().adamw(p, g, mm, vv, params.map((t) => t.size), flags, 1 - hp.lr * hp.weightDecay, hp.beta1, 1 - hp.beta1, hp.beta2,
    1 - hp.beta2, Math.sqrt(bc2), hp.eps, hp.lr / bc1);
}
