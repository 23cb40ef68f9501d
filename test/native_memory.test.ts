// Memory stays flat on the native backend: 300 steps of a small transformer-like training loop
// (embedding, layer norm, causal attention with dropout, GELU MLP, cross-entropy, AdamW in
// place) leave the tensor count exactly where it was after the first step, and resident memory
// within a loose bound once the buffer pool has warmed up.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import { adamw, causalAttention, dropout, embedding, layerNorm, softmaxCrossEntropy } from '../core/ops/fused.ts';
import { NativeBackend } from '../native/index.ts';
import { nativeAvailable, normal, rng } from '../native/test/tf_helpers.ts';

const test = suite('native memory');

if (nativeAvailable(test, 'native memory test')) {
  test('300 training steps: flat tensor count, bounded RSS and pool', () => {
    tf.setBackend('native');
    const backend = tf.backend() as NativeBackend;
    backend.setPoolTesting(false); // this test measures the production pool policy
    const r = rng(99);
    const V = 65, C = 64, H = 4, T = 32, B = 8;
    const params = [[V, C], [T, C], [C], [C], [C, 3 * C], [C, 4 * C], [4 * C, C]].map((s) => tf.variable(tf.tensor(normal(r, s.reduce((a, b) => a * b), 0.1), s)));
    const [wte, wpe, g, b, wqkv, w1, w2] = params;
    const m = params.map((p) => tf.variable(tf.zerosLike(p)));
    const v = params.map((p) => tf.variable(tf.zerosLike(p)));
    const decay = params.map((p) => p.rank >= 2);
    const x = tf.keep(tf.tensor(Int32Array.from({ length: B * T }, (_, i) => (i * 31) % V), [B, T], 'int32'));
    const y = tf.keep(tf.tensor(Int32Array.from({ length: B * T }, (_, i) => (i * 17 + 3) % V), [B * T], 'int32'));
    let call = 0;
    const loss = () => {
      const h = embedding(wte, x).add(wpe);
      const n = layerNorm(h, g, b);
      const all = tf.matMul(n.reshape([B * T, C]), wqkv).reshape([B, T, 3, H, C / H]).transpose([2, 0, 3, 1, 4]);
      const [q, k, vv] = tf.unstack(all, 0);
      const att = causalAttention(q, k, vv, { dropout: 0.1, seed: 7, callId: ++call }).transpose([0, 2, 1, 3]).reshape([B * T, C]);
      const h2 = h.reshape([B * T, C]).add(att);
      const u = tf.matMul(h2, w1);
      const gelu = u.mul(tf.erf(u.mul(Math.SQRT1_2)).add(1)).mul(0.5);
      const out = h2.add(dropout(tf.matMul(gelu, w2), 0.1, 7, ++call));
      return softmaxCrossEntropy(tf.matMul(out, wte, false, true), y);
    };
    const step = (i: number) => tf.tidy(() => {
      const { value, grads } = tf.variableGrads(loss, params);
      adamw(params, params.map((p) => grads[p.name]), m, v, { lr: 1e-3, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1, step: i }, decay);
      return value.dataSync()[0];
    });
    const first = step(1);
    const tensors = tf.memory().numTensors;
    let rss0 = 0, last = first;
    for (let i = 2; i <= 300; i++) {
      last = step(i);
      if (i === 50) rss0 = process.memoryUsage().rss;
    }
    const grown = (process.memoryUsage().rss - rss0) / 2 ** 20;
    assert.is(tf.memory().numTensors, tensors, 'tensor count after 300 steps');
    assert.ok(Number.isFinite(last) && last < first, `loss went down: ${first} -> ${last}`);
    assert.ok(grown < 64, `RSS grew ${grown.toFixed(1)} MB between step 50 and step 300`);
    assert.ok(backend.pooledBytes() <= 256 * 2 ** 20, 'pool within its cap');
    console.log(`  memory: loss ${first.toFixed(3)} -> ${last.toFixed(3)}, ${tensors} tensors throughout, RSS +${grown.toFixed(1)} MB after step 50, pool ${(backend.pooledBytes() / 2 ** 20).toFixed(1)} MB`);
    tf.dispose([...params, ...m, ...v, x, y]);
  });

  test('buffer pool: recycles, stays under its cap, lets go of sizes not used lately', () => {
    tf.setBackend('native');
    const backend = tf.backend() as NativeBackend;
    backend.setPoolTesting(false);
    const kb = 1024;
    const make = (floats: number, n: number) => {
      const ts = Array.from({ length: n }, () => tf.relu(tf.ones([floats])));
      tf.dispose(ts);
    };
    make(16 * kb, 3); // three 64 KB outputs go back to the pool...
    const p1 = backend.pooledBytes();
    make(16 * kb, 3); // ...and are reused: no growth
    assert.is(backend.pooledBytes(), p1);
    backend.setPoolCap(p1);
    make(32 * kb, 1); // a 128 KB buffer at the cap: sizes used least recently make room
    assert.ok(backend.pooledBytes() <= p1, 'under the cap');
    make(32 * kb, 1);
    assert.ok(backend.pooledBytes() <= p1, 'still under the cap');
    // a recycled buffer never shows through a read taken before disposal
    const t = tf.fill([16 * kb], 3);
    const read = t.dataSync();
    t.dispose();
    make(16 * kb, 4);
    assert.is(read[0], 3);
    backend.setPoolCap(256 * 2 ** 20);
  });

  test.run();
}
