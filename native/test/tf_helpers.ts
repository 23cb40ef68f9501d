// Helpers for test/native_*.test.ts: loading (or skipping), seeded random data, and running the
// same function on tfjs' 'cpu' backend and on 'native' to compare the results.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type * as uvu from 'uvu';
import * as assert from 'uvu/assert';
import { loadNativeBackend, NativeBackend, type NativeStatus } from '../index.ts';

/**
 * Whether the native tests should run. Without the addon they are skipped (one "skipped:" line,
 * no failing test), unless NANOLAB_REQUIRE_NATIVE=1, where the missing addon is a failure.
 */
export function nativeAvailable(suite: Suite, what: string): boolean {
  const status: NativeStatus = loadNativeBackend();
  if (status.ok) {
    // while this suite runs: every kernel output from the buffer pool, poisoned, which catches
    // kernels that assume zeros (other suites keep the normal pool)
    suite.before(() => poolTesting(true));
    suite.after(() => poolTesting(false));
    return true;
  }
  if (process.env.NANOLAB_REQUIRE_NATIVE === '1') {
    suite('native addon is built (NANOLAB_REQUIRE_NATIVE=1)', () => assert.unreachable(status.reason));
    suite.run();
  } else {
    console.log(`skipped: ${what}: ${status.reason}`);
  }
  return false;
}

type Suite = uvu.Test;

function poolTesting(on: boolean): void {
  const prev = tf.getBackend();
  tf.setBackend('native');
  (tf.backend() as NativeBackend).setPoolTesting(on);
  if (prev && prev !== 'native') tf.setBackend(prev);
}

/** mulberry32: small seeded PRNG, floats in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Rand = ReturnType<typeof rng>;

export const randInt = (r: Rand, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));

export function normal(r: Rand, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u1 = Math.max(r(), 1e-12), u2 = r();
    a[i] = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2) * scale;
  }
  return a;
}

/** A random shape of the given rank with dims in [lo, hi]. */
export function randShape(r: Rand, rank: number, lo = 1, hi = 5): number[] {
  return Array.from({ length: rank }, () => randInt(r, lo, hi));
}

export const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

type Out = tf.Tensor | tf.Tensor[] | number;

/** Runs fn on `backend` and returns plain copies of the results (the tensors are disposed). */
export function runOn(backend: string, fn: () => Out): { shape: number[]; dtype: string; values: number[] }[] {
  tf.setBackend(backend);
  const before = tf.memory().numTensors;
  const res = tf.tidy(() => {
    const o = fn();
    const list = typeof o === 'number' ? [tf.scalar(o)] : Array.isArray(o) ? o : [o];
    return list.map((t) => ({ shape: t.shape.slice(), dtype: t.dtype as string, values: Array.from(t.dataSync() as ArrayLike<number>) }));
  });
  // (the composites on 'cpu' may keep caches, e.g. causal masks; the native side must not leak)
  if (backend === 'native') assert.is(tf.memory().numTensors, before, 'tensors leaked on native');
  return res;
}

/** |a - b| <= tol * max(1, |b|), NaN only against NaN, infinities exactly. */
export function close(a: number, b: number, tol: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (!Number.isFinite(a) || !Number.isFinite(b)) return a === b;
  return Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));
}

/** Asserts fn gives the same dtypes, shapes and values (to tol; exact for int/bool) on 'native'
 * as on tfjs' 'cpu' backend. */
export function sameAsCpu(label: string, fn: () => Out, tol = 1e-5): void {
  const want = runOn('cpu', fn);
  const got = runOn('native', fn);
  assert.is(got.length, want.length, `${label}: number of outputs`);
  for (let i = 0; i < want.length; i++) {
    const w = want[i], g = got[i];
    assert.equal(g.shape, w.shape, `${label}: shape of output ${i}`);
    assert.is(g.dtype, w.dtype, `${label}: dtype of output ${i}`);
    const exact = w.dtype !== 'float32';
    for (let j = 0; j < w.values.length; j++) {
      const ok = exact ? g.values[j] === w.values[j] : close(g.values[j], w.values[j], tol);
      if (!ok) assert.unreachable(`${label}: output ${i} element ${j}: native ${g.values[j]}, cpu ${w.values[j]}`);
    }
  }
}
