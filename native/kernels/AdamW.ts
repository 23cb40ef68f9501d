// AdamW over all parameters in one addon call, updating the variables' Float32Arrays in place
// (native/kernels/adamw.cc). A variable whose buffer another tensor can see (tf.variable(t) shares
// t's data, so do clones and reshapes; views too) first gets a private copy through assign, so
// the update never shows through another tensor. The variables keep their dataIds afterwards
// (except after such a copy), and every read (dataSync, data, kernels) sees the new values.
import * as tf from '@tensorflow/tfjs-core';
import type { AdamWHyper } from '../../core/ops/registry.ts';
import { NativeBackend } from '../backend.ts';
import { nb, type Backend } from './util.ts';

function ownBuffer(backend: Backend, t: tf.Variable): Float32Array {
  const d = backend.data.get(t.dataId);  // moves the data here if it lives on another backend
  if (d.refCount > 1 || !(d.values instanceof Float32Array) || (backend instanceof NativeBackend && backend.sharedBuffer(d.values))) {
    const copy = tf.tensor(Float32Array.from(d.values as ArrayLike<number>), t.shape, 'float32');
    t.assign(copy);
    copy.dispose();
  }
  return backend.data.get(t.dataId).values as Float32Array;
}

function readF32(backend: Backend, t: tf.Tensor): Float32Array {
  const v = backend.data.get(t.dataId).values;
  return v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number>);
}

/** Checks one gradient, moment pair and decay flag per parameter, of the parameter's shape. */
export function checkAdamWArgs(params: tf.Variable[], grads: tf.Tensor[], m: tf.Variable[], v: tf.Variable[], decay: boolean[]): void {
  const n = params.length;
  if (grads.length !== n || m.length !== n || v.length !== n || decay.length !== n) {
    throw new Error('adamw: params, grads, m, v and decay must have one entry per parameter');
  }
  for (let i = 0; i < n; i++) {
    if (!tf.util.arraysEqual(params[i].shape, grads[i].shape)) {
      throw new Error(`adamw: gradient ${i} has shape ${grads[i].shape}, parameter ${params[i].shape}`);
    }
  }
}

/** The decay flags and the constants of one step, exactly as the composite computes them (each
 * becomes a float32 scalar there): 1 - lr wd, b1, 1 - b1, b2, 1 - b2, sqrt(1 - b2^t), eps, lr / (1 - b1^t). */
export function adamwStepConstants(hp: AdamWHyper, decay: boolean[]): { flags: Uint8Array; constants: number[] } {
  const bc1 = 1 - Math.pow(hp.beta1, hp.step);
  const bc2 = 1 - Math.pow(hp.beta2, hp.step);
  return {
    flags: Uint8Array.from(decay, (d) => (d && hp.weightDecay > 0 ? 1 : 0)),
    constants: [1 - hp.lr * hp.weightDecay, hp.beta1, 1 - hp.beta1, hp.beta2, 1 - hp.beta2, Math.sqrt(bc2), hp.eps, hp.lr / bc1],
  };
}

export function adamwNative(params: tf.Variable[], grads: tf.Tensor[], m: tf.Variable[], v: tf.Variable[],
  hp: AdamWHyper, decay: boolean[]): void {
  const backend = tf.backend() as Backend;
  checkAdamWArgs(params, grads, m, v, decay);
  const p = params.map((t) => ownBuffer(backend, t));
  const mm = m.map((t) => ownBuffer(backend, t));
  const vv = v.map((t) => ownBuffer(backend, t));
  const g = grads.map((t) => readF32(backend, t));
  const { flags, constants } = adamwStepConstants(hp, decay);
  const [decayFactor, b1, omb1, b2, omb2, sqrtBc2, eps, stepSize] = constants;
  nb().adamw(p, g, mm, vv, flags, decayFactor, b1, omb1, b2, omb2, sqrtBc2, eps, stepSize);
}
