// The native fused ops against the composites of core/ops/fused.ts run on tfjs' 'cpu' backend:
// forward values and gradients (tf.grads with a random upstream gradient), dropout masks
// included, and AdamW's in-place update.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import { adamw, causalAttention, dropout, embedding, layerNorm, softmaxCrossEntropy } from '../core/ops/fused.ts';
import { nativeGelu } from '../native/fused.ts';
import { nativeAvailable, normal, randInt, rng, runOn, sameAsCpu, size } from '../native/test/tf_helpers.ts';

const test = suite('native fused ops');

if (nativeAvailable(test, 'native fused op tests')) {
  test('embedding forward and gradient (repeated ids)', () => {
    const r = rng(8);
    const cases: Array<[number, number, number[]]> = [[5, 3, [4]], [65, 16, [4, 9]], [300, 33, [2, 3, 7]], [7, 4, [0]]];
    for (const [V, C, idsShape] of cases) {
      const table = normal(r, V * C), ids = Int32Array.from({ length: size(idsShape) }, () => randInt(r, 0, Math.min(V - 1, 9)));
      const dy = normal(r, size(idsShape) * C);
      const t = () => tf.tensor(table, [V, C]), i = () => tf.tensor(ids, idsShape, 'int32');
      sameAsCpu(`embedding ${V}x${C} ${idsShape}`, () => embedding(t(), i()));
      sameAsCpu(`embedding grad ${V}x${C} ${idsShape}`, () => tf.grad((x: tf.Tensor) => embedding(x, i()))(t(), tf.tensor(dy, [...idsShape, C])));
    }
  });

  test('gelu (offered to core/ops) forward and gradient vs the feed-forward composite', () => {
    const r = rng(9);
    const composite = (x: tf.Tensor) => x.mul(tf.erf(x.mul(Math.SQRT1_2)).add(1)).mul(0.5);
    for (const shape of [[7], [3, 130], [64, 257]]) {
      const x = normal(r, size(shape), 2), dy = normal(r, size(shape));
      x[0] = 0; x[1] = -1e-4; x[2] = 6;
      const f = (a: tf.Tensor) => (tf.getBackend() === 'native' ? nativeGelu(a) : composite(a));
      sameAsCpu(`gelu ${shape}`, () => f(tf.tensor(x, shape)));
      sameAsCpu(`gelu grad ${shape}`, () => tf.grad(f)(tf.tensor(x, shape), tf.tensor(dy, shape)));
    }
  });

  test('layerNorm forward and gradients', () => {
    const r = rng(1);
    for (const shape of [[5], [3, 7], [2, 3, 64], [4, 5, 130], [0, 8]]) {
      const C = shape[shape.length - 1];
      const x = normal(r, size(shape), 3), g = normal(r, C), b = normal(r, C), dy = normal(r, size(shape));
      const args = () => [tf.tensor(x, shape).add(1.5), tf.tensor(g, [C]), tf.tensor(b, [C])];
      sameAsCpu(`layerNorm ${shape}`, () => { const [xx, gg, bb] = args(); return layerNorm(xx, gg, bb, 1e-5); });
      sameAsCpu(`layerNorm grads ${shape}`, () =>
        tf.grads((xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => layerNorm(xx, gg, bb, 1e-3))(args(), tf.tensor(dy, shape)), 2e-5);
    }
  });

  const attnShapes = [[1, 1, 1, 4], [2, 3, 5, 4], [1, 2, 70, 8], [2, 2, 130, 16], [1, 1, 64, 32]];
  for (const rate of [0, 0.3]) {
    test(`causalAttention forward and gradients (dropout ${rate})`, () => {
      const r = rng(2 + rate * 10);
      for (const shape of attnShapes) {
        const q = normal(r, size(shape)), k = normal(r, size(shape)), v = normal(r, size(shape)), dy = normal(r, size(shape));
        const opts = { dropout: rate, seed: 2 ** 35 + 17, callId: 9 };
        const qkv = () => [tf.tensor(q, shape), tf.tensor(k, shape), tf.tensor(v, shape)];
        sameAsCpu(`attention ${shape}`, () => { const [a, b, c] = qkv(); return causalAttention(a, b, c, opts); });
        sameAsCpu(`attention grads ${shape}`, () =>
          tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => causalAttention(a, b, c, opts))(qkv(), tf.tensor(dy, shape)), 2e-5);
      }
    });
  }

  test('softmaxCrossEntropy forward and gradient', () => {
    const r = rng(3);
    for (const [N, V] of [[1, 2], [7, 5], [64, 65], [33, 1000]]) {
      const logits = normal(r, N * V, 4);
      const targets = Int32Array.from({ length: N }, () => randInt(r, 0, V - 1));
      const l = () => tf.tensor(logits, [N, V]), t = () => tf.tensor(targets, [N], 'int32');
      sameAsCpu(`cross-entropy ${N}x${V}`, () => softmaxCrossEntropy(l(), t()));
      sameAsCpu(`cross-entropy grad ${N}x${V}`, () => tf.grad((x: tf.Tensor) => softmaxCrossEntropy(x, t()).mul(2.5))(l()));
    }
    const bad = Int32Array.from([0, -1, 2, 9]);
    sameAsCpu('cross-entropy out-of-range targets', () => softmaxCrossEntropy(tf.tensor(normal(rng(4), 12), [4, 3]), tf.tensor(bad, [4], 'int32')));
  });

  test('dropout forward and gradient (same mask, same bits)', () => {
    const r = rng(5);
    for (const shape of [[1], [3, 5], [4, 7, 129], [0, 3]]) {
      const x = normal(r, size(shape)), dy = normal(r, size(shape));
      for (const rate of [0.1, 0.5]) {
        sameAsCpu(`dropout ${shape} ${rate}`, () => dropout(tf.tensor(x, shape), rate, 2 ** 40 + 1, 3), 0);
        sameAsCpu(`dropout grad ${shape} ${rate}`, () =>
          tf.grad((a: tf.Tensor) => dropout(a, rate, 77, 2 ** 33))(tf.tensor(x, shape), tf.tensor(dy, shape)), 0);
      }
    }
  });

  test('adamw: in place, same bits as the composite, shared buffers left alone', () => {
    const r = rng(6);
    const shapes = [[4, 3], [7], [2, 2, 5]];
    const init = shapes.map((s) => normal(r, size(s)));
    const gradsPerStep = [1, 2, 3].map(() => shapes.map((s) => normal(r, size(s))));
    const decay = [true, false, true];
    const results: Record<string, number[][]> = {};
    for (const backend of ['cpu', 'native']) {
      tf.setBackend(backend);
      // tf.variable(t) shares t's buffer: the update must not show through t
      const seeds = init.map((a, i) => tf.tensor(a, shapes[i]));
      const params = seeds.map((t) => tf.variable(t));
      const m = shapes.map((s) => tf.variable(tf.zeros(s)));
      const v = shapes.map((s) => tf.variable(tf.zeros(s)));
      gradsPerStep.forEach((gs, step) => {
        const grads = gs.map((g, i) => tf.tensor(g, shapes[i]));
        adamw(params, grads, m, v, { lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, step: step + 1 }, decay);
        tf.dispose(grads);
      });
      results[backend] = [...params, ...m, ...v].map((t) => Array.from(t.dataSync()));
      seeds.forEach((t, i) => assert.equal(Array.from(t.dataSync()), Array.from(init[i]), `${backend}: initial tensor ${i} unchanged`));
      tf.dispose([...seeds, ...params, ...m, ...v]);
    }
    assert.equal(results.native, results.cpu);
  });

  test('a training-like step: same loss and gradients as the composites on cpu', () => {
    const r = rng(7);
    const B = 2, T = 9, C = 8, H = 2, V = 11;
    const wte = normal(r, V * C, 0.5), wqkv = normal(r, C * 3 * C, 0.3), g = normal(r, C), idx = Int32Array.from({ length: B * T }, () => randInt(r, 0, V - 1));
    const step = () => {
      const e = tf.tensor(wte, [V, C]), w = tf.tensor(wqkv, [C, 3 * C]), gg = tf.tensor(g, [C]);
      return tf.grads((emb: tf.Tensor, wq: tf.Tensor, gamma: tf.Tensor) => {
        const x = layerNorm(tf.gather(emb, tf.tensor(idx, [B, T], 'int32')), gamma, tf.zerosLike(gamma));
        const all = tf.matMul(x.reshape([B * T, C]), wq).reshape([B, T, 3, H, C / H]).transpose([2, 0, 3, 1, 4]);
        const [q, k, v] = tf.unstack(all, 0);
        const y = causalAttention(q, k, v, { dropout: 0.2, seed: 5, callId: 1 }).transpose([0, 2, 1, 3]).reshape([B * T, C]);
        const logits = tf.matMul(dropout(y, 0.1, 5, 2), emb, false, true);
        return softmaxCrossEntropy(logits, tf.tensor(idx, [B * T], 'int32'));
      })([e, w, gg]);
    };
    sameAsCpu('training step grads', step, 2e-5);
    // determinism: the same step again on native gives the same bits
    const a = runOn('native', step), b = runOn('native', step);
    assert.equal(a, b, 'run-to-run bit-identical');
    const lossOn = (b: string) => runOn(b, () => {
      const x = tf.gather(tf.tensor(wte, [V, C]), tf.tensor(idx, [B * T], 'int32'));
      return softmaxCrossEntropy(tf.matMul(x, tf.tensor(wte, [V, C]), false, true), tf.tensor(idx, [B * T], 'int32'));
    })[0].values[0];
    assert.ok(Math.abs(lossOn('native') - lossOn('cpu')) < 1e-5);
  });

  test.run();
}
