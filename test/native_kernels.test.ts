// Every native kernel against tfjs' own 'cpu' backend on random shapes: broadcasting, odd sizes,
// size 0, ranks 0..5, float32/int32/bool, special values. Tolerance 1e-5 relative (absolute below
// 1); int and bool results must be equal.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import {
  close, nativeAvailable, normal, randInt, randShape, rng, runOn, sameAsCpu, size, type Rand,
} from '../native/test/tf_helpers.ts';
import { loadNativeBackend } from '../native/index.ts';
import { nativeKernels } from '../native/register_all_kernels.ts';

const test = suite('native kernels');

/** Random float data with a sprinkle of special values. */
function floats(r: Rand, n: number, specials = true): Float32Array {
  const a = normal(r, n, 2);
  if (specials) {
    const sp = [0, -0, NaN, Infinity, -Infinity, 1e-30, -1e30, 88.9, -104, 20];
    for (let i = 0; i < n; i++) if (r() < 0.06) a[i] = sp[randInt(r, 0, sp.length - 1)];
  }
  return a;
}
const ints = (r: Rand, n: number, lo = -20, hi = 20) => Int32Array.from({ length: n }, () => randInt(r, lo, hi));
const bools = (r: Rand, n: number) => Uint8Array.from({ length: n }, () => (r() < 0.5 ? 1 : 0));

/** Shapes to try: ranks 0..5, one with a 0 dim, one large enough for the vector loops. */
function shapes(r: Rand): number[][] {
  const s = [0, 1, 2, 3, 4, 5].map((k) => randShape(r, k, 1, k > 3 ? 3 : 6));
  s.push([2, 0, 3], [3, 1000], [7, 33]);
  return s;
}

/** Two shapes broadcasting to a random output shape. */
function broadcastPair(r: Rand, rank: number): [number[], number[]] {
  const out = randShape(r, rank, 1, 5);
  const mk = () => {
    const s = out.map((d) => (r() < 0.3 ? 1 : d));
    return s.slice(randInt(r, 0, Math.min(2, s.length)));
  };
  return [mk(), mk()];
}

if (nativeAvailable(test, 'native kernel tests')) {
  test('backend registered: native kernels over the cpu ones, fused ops, not active by itself', () => {
    assert.ok(tf.findBackendFactory('native'), 'backend native registered');
    for (const k of nativeKernels) {
      const reg = tf.getKernel(k.kernelName, 'native'), cpu = tf.getKernel(k.kernelName, 'cpu');
      assert.ok(reg && (!cpu || reg.kernelFunc !== cpu.kernelFunc), `${k.kernelName} is a native kernel`);
    }
    // every cpu kernel also runs on native (fallback)
    for (const k of tf.getKernelsForBackend('cpu')) assert.ok(tf.getKernel(k.kernelName, 'native'), `${k.kernelName} on native`);
    assert.equal(loadNativeBackend(), loadNativeBackend(), 'idempotent');
  });

  const unary: Array<[string, (x: tf.Tensor) => tf.Tensor, 'any' | 'pos']> = [
    ['neg', (x) => tf.neg(x), 'any'], ['exp', (x) => tf.exp(x), 'any'], ['log', (x) => tf.log(x), 'pos'],
    ['sqrt', (x) => tf.sqrt(x), 'pos'], ['rsqrt', (x) => tf.rsqrt(x), 'pos'], ['square', (x) => tf.square(x), 'any'],
    ['relu', (x) => tf.relu(x), 'any'], ['step', (x) => tf.step(x, 0.3), 'any'], ['tanh', (x) => tf.tanh(x), 'any'],
    ['erf', (x) => tf.erf(x), 'any'], ['floor', (x) => tf.floor(x), 'any'], ['abs', (x) => tf.abs(x), 'any'],
    ['sigmoid', (x) => tf.sigmoid(x), 'any'], ['reciprocal', (x) => tf.reciprocal(x), 'any'],
    ['ceil', (x) => tf.ceil(x), 'any'],
  ];
  for (const [name, f, domain] of unary) {
    test(`unary ${name}`, () => {
      const r = rng(name.length * 7919);
      for (const shape of shapes(r)) {
        let data = floats(r, size(shape));
        if (domain === 'pos') data = data.map((v) => (r() < 0.9 ? Math.abs(v) : v));
        sameAsCpu(`${name} ${shape}`, () => f(tf.tensor(data, shape)));
      }
      // small arguments (cancellation in erf/tanh), and int32 input
      const tiny = Float32Array.from({ length: 200 }, (_, i) => (i - 100) * 1e-4);
      sameAsCpu(`${name} near 0`, () => f(tf.tensor(tiny)));
      if (['neg', 'exp', 'square', 'relu', 'step', 'abs', 'reciprocal'].includes(name)) {
        const xi = ints(r, 50);
        sameAsCpu(`${name} int32`, () => f(tf.tensor(xi, [5, 10], 'int32')));
      }
    });
  }

  test('unary logicalNot (bool)', () => {
    const r = rng(3);
    for (const shape of shapes(r)) {
      const x = bools(r, size(shape));
      sameAsCpu(`logicalNot ${shape}`, () => tf.logicalNot(tf.tensor(x, shape, 'bool')));
    }
  });

  const binary: Array<[string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, boolean]> = [
    ['add', tf.add, true], ['sub', tf.sub, true], ['mul', tf.mul, true], ['div', tf.div, false],
    ['maximum', tf.maximum, true], ['minimum', tf.minimum, true], ['pow', tf.pow, false],
    ['squaredDifference', tf.squaredDifference, true], ['floorDiv', tf.floorDiv, false],
    ['equal', tf.equal, true], ['notEqual', tf.notEqual, true], ['less', tf.less, true],
    ['lessEqual', tf.lessEqual, true], ['greater', tf.greater, true], ['greaterEqual', tf.greaterEqual, true],
  ];
  for (const [name, f, withInts] of binary) {
    test(`binary ${name} with broadcasting`, () => {
      const r = rng(name.length * 104729);
      for (let rank = 0; rank <= 5; rank++) {
        for (let rep = 0; rep < 3; rep++) {
          const [sa, sb] = broadcastPair(r, rank);
          const da = floats(r, size(sa)), db = floats(r, size(sb));
          if (name === 'pow') for (let i = 0; i < db.length; i++) db[i] = Math.round(db[i]);
          sameAsCpu(`${name} ${sa} ${sb}`, () => f(tf.tensor(da, sa), tf.tensor(db, sb)));
          const ia = ints(r, size(sa)), ib = ints(r, size(sb)).map((v) => (name === 'floorDiv' && v === 0 ? 1 : v));
          if (withInts) sameAsCpu(`${name} int32 ${sa} ${sb}`, () => f(tf.tensor(ia, sa, 'int32'), tf.tensor(ib, sb, 'int32')));
        }
      }
      const big = floats(r, 3000, false), row = floats(r, 1000, false);
      sameAsCpu(`${name} rows`, () => f(tf.tensor(big, [3, 1000]), tf.tensor(row, [1000])));
      sameAsCpu(`${name} cols`, () => f(tf.tensor(big, [1000, 3]), tf.tensor(row, [1000, 1])));
      sameAsCpu(`${name} scalar`, () => f(tf.tensor(big, [3, 1000]), tf.scalar(1.5)));
      sameAsCpu(`${name} empty`, () => f(tf.tensor([], [0, 3]), tf.tensor(row.slice(0, 3), [3])));
    });
  }

  test('binary logicalAnd / logicalOr', () => {
    const r = rng(5);
    for (let rank = 0; rank <= 4; rank++) {
      const [sa, sb] = broadcastPair(r, rank);
      const a = bools(r, size(sa)), b = bools(r, size(sb));
      sameAsCpu(`and ${sa} ${sb}`, () => tf.logicalAnd(tf.tensor(a, sa, 'bool'), tf.tensor(b, sb, 'bool')));
      sameAsCpu(`or ${sa} ${sb}`, () => tf.logicalOr(tf.tensor(a, sa, 'bool'), tf.tensor(b, sb, 'bool')));
    }
  });

  test('cast between float32, int32 and bool', () => {
    const r = rng(11);
    const f = floats(r, 300);
    f[0] = 3e9; f[1] = -3e9; f[2] = 2147483647.5; f[3] = -0.7; f[4] = 0.7;
    const x = () => tf.tensor(f, [10, 30]);
    sameAsCpu('f32->i32', () => tf.cast(x(), 'int32'));
    sameAsCpu('f32->bool', () => tf.cast(x(), 'bool'));
    const big = ints(r, 12, -1e6, 1e6), small = ints(r, 12, -2, 2), bs = bools(r, 12);
    sameAsCpu('i32->f32', () => tf.cast(tf.tensor(big, [3, 4], 'int32'), 'float32'));
    sameAsCpu('i32->bool', () => tf.cast(tf.tensor(small, [12], 'int32'), 'bool'));
    sameAsCpu('bool->f32', () => tf.cast(tf.tensor(bs, [12], 'bool'), 'float32'));
    sameAsCpu('bool->i32', () => tf.cast(tf.tensor(bs, [12], 'bool'), 'int32'));
    // float32 tensors stored as Int32Array / Uint8Array (cpu's relabelling cast) into native kernels
    sameAsCpu('relabelled', () => tf.cast(tf.tensor(small, [12], 'int32'), 'float32').mul(tf.scalar(0.5)));
  });

  test('select (where) with broadcasting', () => {
    const r = rng(13);
    for (let rank = 0; rank <= 4; rank++) {
      const [sa, sb] = broadcastPair(r, rank);
      const sc = sa.map((d) => (r() < 0.5 ? 1 : d));
      const c = bools(r, size(sc)), a = floats(r, size(sa)), b = floats(r, size(sb));
      sameAsCpu(`where ${sc} ${sa} ${sb}`, () => tf.where(tf.tensor(c, sc, 'bool'), tf.tensor(a, sa), tf.tensor(b, sb)));
      const ia = ints(r, size(sa)), ib = ints(r, size(sb));
      sameAsCpu(`where int ${sa}`, () => tf.where(tf.tensor(c, sc, 'bool'), tf.tensor(ia, sa, 'int32'), tf.tensor(ib, sb, 'int32')));
    }
  });

  test('fill, zerosLike, onesLike, range', () => {
    sameAsCpu('fill', () => tf.fill([3, 4], 2.5));
    sameAsCpu('fill int', () => tf.fill([3, 0], 7, 'int32'));
    sameAsCpu('fill bool', () => tf.fill([5], 1, 'bool'));
    sameAsCpu('zerosLike', () => tf.zerosLike(tf.tensor([[1, 2], [3, 4]])));
    sameAsCpu('onesLike int', () => tf.onesLike(tf.tensor([1, 2, 3], [3], 'int32')));
    sameAsCpu('onesLike bool', () => tf.onesLike(tf.tensor([1, 0], [2], 'bool')));
    for (const [a, b, s] of [[0, 10, 1], [0.1, 3.7, 0.3], [5, -3, -0.7], [10, 2, 1], [3, 3, 1], [0, 1, 1e-2], [2, 9, -1]]) {
      sameAsCpu(`range ${a} ${b} ${s}`, () => tf.range(a, b, s));
      sameAsCpu(`range int ${a} ${b} ${s}`, () => tf.range(Math.floor(a), Math.floor(b), Math.sign(s) || 1, 'int32'));
    }
  });

  test('transpose: random permutations, ranks 0..6', () => {
    const r = rng(17);
    for (let rank = 0; rank <= 6; rank++) {
      for (let rep = 0; rep < 6; rep++) {
        const shape = randShape(r, rank, 1, rank > 4 ? 4 : 7);
        const perm = Array.from({ length: rank }, (_, i) => i).sort(() => r() - 0.5);
        const x = floats(r, size(shape), false);
        sameAsCpu(`transpose ${shape} ${perm}`, () => tf.transpose(tf.tensor(x, shape), perm));
        const xb = bools(r, size(shape));
        sameAsCpu(`transpose bool ${shape} ${perm}`, () => tf.transpose(tf.tensor(xb, shape, 'bool'), perm));
      }
    }
    const x = floats(r, 2 * 37 * 3 * 19, false);
    sameAsCpu('transpose head split', () => tf.transpose(tf.tensor(x, [2, 37, 3, 19]), [0, 2, 1, 3]));
    sameAsCpu('transpose 2d tiles', () => tf.transpose(tf.tensor(x, [74, 57])));
    const qkv = floats(r, 2 * 5 * 3 * 2 * 4, false);
    sameAsCpu('transpose qkv', () => tf.transpose(tf.tensor(qkv, [2, 5, 3, 2, 4]), [2, 0, 3, 1, 4]));
    sameAsCpu('transpose empty', () => tf.transpose(tf.tensor([], [3, 0, 2]), [2, 0, 1]));
  });

  test('tile, concat, stack, unstack, split, slice, pad', () => {
    const r = rng(19);
    for (let rank = 1; rank <= 5; rank++) {
      const shape = randShape(r, rank, 1, 4);
      const x = floats(r, size(shape), false);
      const reps = shape.map(() => randInt(r, 1, 3));
      sameAsCpu(`tile ${shape} ${reps}`, () => tf.tile(tf.tensor(x, shape), reps));
      const xi = ints(r, size(shape));
      sameAsCpu(`tile int ${shape}`, () => tf.tile(tf.tensor(xi, shape, 'int32'), reps));
      const axis = randInt(r, 0, rank - 1);
      const parts = [1, 2, 3].map(() => { const s = shape.slice(); s[axis] = randInt(r, 0, 3); return s; });
      const pdata = parts.map((s) => floats(r, size(s), false));
      sameAsCpu(`concat ${parts.join('|')} axis ${axis}`, () => tf.concat(parts.map((s, i) => tf.tensor(pdata[i], s)), axis));
      const pb = parts.map((s) => bools(r, size(s)));
      sameAsCpu(`concat bool axis ${axis}`, () => tf.concat(parts.map((s, i) => tf.tensor(pb[i], s, 'bool')), axis));
      const stackAxis = randInt(r, 0, rank);
      const sd = [0, 1, 2].map(() => floats(r, size(shape), false));
      sameAsCpu(`stack ${shape} axis ${stackAxis}`, () => tf.stack(sd.map((d) => tf.tensor(d, shape)), stackAxis));
      sameAsCpu(`unstack ${shape} axis ${axis}`, () => tf.unstack(tf.tensor(x, shape), axis));
      const sizes = [shape[axis]];
      if (shape[axis] > 1) { const k = randInt(r, 1, shape[axis] - 1); sizes.splice(0, 1, k, shape[axis] - k); }
      sameAsCpu(`split ${shape} ${sizes} axis ${axis}`, () => tf.split(tf.tensor(x, shape), sizes, axis));
      const begin = shape.map((d) => randInt(r, 0, d - 1));
      const sz = shape.map((d, i) => randInt(r, 0, d - begin[i]));
      sameAsCpu(`slice ${shape} ${begin} ${sz}`, () => tf.slice(tf.tensor(x, shape), begin, sz));
      sameAsCpu(`slice to end ${shape}`, () => tf.slice(tf.tensor(x, shape), begin));
      const pads = shape.map(() => [randInt(r, 0, 2), randInt(r, 0, 2)] as [number, number]);
      sameAsCpu(`pad ${shape} ${pads}`, () => tf.pad(tf.tensor(x, shape), pads, 0));
      sameAsCpu(`pad value ${shape}`, () => tf.pad(tf.tensor(x, shape), pads, -1.5));
      sameAsCpu(`pad int ${shape}`, () => tf.pad(tf.tensor(xi, shape, 'int32'), pads, 3));
    }
    const sn = floats(r, 24, false);
    sameAsCpu('split num', () => tf.split(tf.tensor(sn, [4, 6]), 3, 1));
  });

  test('gather (axis, batchDims), unsortedSegmentSum, oneHot', () => {
    const r = rng(23);
    for (let rank = 1; rank <= 4; rank++) {
      const shape = randShape(r, rank, 1, 5);
      const x = floats(r, size(shape), false);
      const axis = randInt(r, 0, rank - 1);
      const idxShape = randShape(r, randInt(r, 0, 2), 1, 4);
      const idx = Int32Array.from({ length: size(idxShape) }, () => randInt(r, 0, shape[axis] - 1));
      sameAsCpu(`gather ${shape} axis ${axis} idx ${idxShape}`, () => tf.gather(tf.tensor(x, shape), tf.tensor(idx, idxShape, 'int32'), axis));
    }
    // batchDims: x (2, 3, 4), indices (2, 5) gathering along axis 1
    const xb = floats(r, 24, false), ib = Int32Array.from({ length: 10 }, () => randInt(r, 0, 2));
    sameAsCpu('gather batchDims', () => tf.gather(tf.tensor(xb, [2, 3, 4]), tf.tensor(ib, [2, 5], 'int32'), 1, 1));
    // embedding-like
    const emb = floats(r, 65 * 16, false), tok = Int32Array.from({ length: 4 * 9 }, () => randInt(r, 0, 64));
    sameAsCpu('gather embedding', () => tf.gather(tf.tensor(emb, [65, 16]), tf.tensor(tok, [4, 9], 'int32')));
    let threwCpu = '', threwNative = '';
    for (const [b, set] of [['cpu', (m: string) => { threwCpu = m; }], ['native', (m: string) => { threwNative = m; }]] as const) {
      tf.setBackend(b);
      try { tf.tidy(() => tf.gather(tf.tensor([1, 2, 3]), tf.tensor([0, 3], [2], 'int32')).dataSync()); } catch (e) { set((e as Error).message); }
    }
    assert.ok(threwNative.includes('GatherV2: the index value 3 is not in [0, 2]'), threwNative);
    assert.is(threwNative, threwCpu);
    for (const [n, inner, segs] of [[10, 3, 4], [50, 16, 7], [1, 1, 1], [0, 4, 3]]) {
      const xs = floats(r, n * inner, false), ids = Int32Array.from({ length: n }, () => randInt(r, -1, segs));
      sameAsCpu(`unsortedSegmentSum ${n}x${inner} into ${segs}`, () => tf.unsortedSegmentSum(tf.tensor(xs, [n, inner]), tf.tensor(ids, [n], 'int32'), segs));
    }
    const oh = Int32Array.from({ length: 12 }, () => randInt(r, -1, 6));
    sameAsCpu('oneHot', () => tf.oneHot(tf.tensor(oh, [3, 4], 'int32'), 5));
    sameAsCpu('oneHot values', () => tf.oneHot(tf.tensor(oh, [12], 'int32'), 6, 2.5, -1));
    sameAsCpu('oneHot int32', () => tf.oneHot(tf.tensor(oh, [12], 'int32'), 6, 1, 0, 'int32'));
  });

  test('reductions: sum, mean, max, min, argMax, argMin over random axes', () => {
    const r = rng(29);
    for (const shape of [...shapes(r), [4, 1, 5, 1, 3], [300, 7], [7, 300]]) {
      const rank = shape.length;
      const x = floats(r, size(shape), rank !== 2);
      const axesSets: number[][] = [[]];
      for (let k = 0; k < 4 && rank > 0; k++) {
        axesSets.push(Array.from({ length: rank }, (_, i) => i).filter(() => r() < 0.5));
      }
      if (rank > 0) axesSets.push([rank - 1], [0]);
      for (const axes of axesSets) {
        const ax = axes.length === 0 ? undefined : axes;
        for (const keep of [false, true]) {
          sameAsCpu(`sum ${shape} ${axes} ${keep}`, () => tf.sum(tf.tensor(x, shape), ax, keep));
          sameAsCpu(`mean ${shape} ${axes} ${keep}`, () => tf.mean(tf.tensor(x, shape), ax, keep));
          if (size(shape) > 0) {
            sameAsCpu(`max ${shape} ${axes} ${keep}`, () => tf.max(tf.tensor(x, shape), ax, keep));
            sameAsCpu(`min ${shape} ${axes} ${keep}`, () => tf.min(tf.tensor(x, shape), ax, keep));
          }
        }
        if (rank > 0 && size(shape) > 0 && axes.length > 0) {
          sameAsCpu(`argMax ${shape} ${axes[0]}`, () => tf.argMax(tf.tensor(x, shape), axes[0]));
          sameAsCpu(`argMin ${shape} ${axes[0]}`, () => tf.argMin(tf.tensor(x, shape), axes[0]));
        }
        const xi = ints(r, size(shape)), xb = bools(r, size(shape));
        sameAsCpu(`sum int ${shape} ${axes}`, () => tf.sum(tf.tensor(xi, shape, 'int32'), ax));
        sameAsCpu(`sum bool ${shape} ${axes}`, () => tf.sum(tf.tensor(xb, shape, 'bool'), ax));
        if (size(shape) > 0) sameAsCpu(`max int ${shape} ${axes}`, () => tf.max(tf.tensor(xi, shape, 'int32'), ax));
      }
    }
  });

  test('softmax', () => {
    const r = rng(31);
    for (const shape of [[5], [3, 7], [2, 3, 65], [4, 1000], [1, 1], [0, 4]]) {
      const x = normal(r, size(shape), 3);
      sameAsCpu(`softmax ${shape}`, () => tf.softmax(tf.tensor(x, shape)));
    }
    sameAsCpu('softmax -inf', () => tf.softmax(tf.tensor([[0, -Infinity, 1], [-Infinity, 2, -Infinity]])));
  });

  test('matMul: transposes and broadcast batch dims', () => {
    const r = rng(37);
    const cases: Array<[number[], number[], boolean, boolean]> = [
      [[3, 4], [4, 5], false, false], [[4, 3], [4, 5], true, false], [[3, 4], [5, 4], false, true],
      [[4, 3], [5, 4], true, true], [[2, 3, 7, 5], [2, 3, 5, 9], false, false], [[2, 3, 7, 5], [5, 9], false, false],
      [[7, 5], [2, 3, 5, 9], false, false], [[2, 1, 7, 5], [1, 9, 5], false, true], [[1, 1], [1, 1], false, false],
      [[65, 130], [130, 67], false, false], [[0, 4], [4, 3], false, false], [[3, 0], [0, 4], false, false],
      [[2, 33, 17], [2, 33, 20], true, false],
    ];
    for (const [sa, sb, ta, tb] of cases) {
      const a = normal(r, size(sa)), b = normal(r, size(sb));
      sameAsCpu(`matMul ${sa} ${sb} ${ta} ${tb}`, () => tf.matMul(tf.tensor(a, sa), tf.tensor(b, sb), ta, tb));
    }
    // batch dims broadcasting both ways, where tfjs' cpu kernel (batch index modulo the batch
    // count) is wrong: against explicitly tiled operands instead
    const a = normal(r, 2 * 7 * 5), b = normal(r, 3 * 9 * 5);
    const want = runOn('cpu', () => tf.matMul(tf.tile(tf.tensor(a, [2, 1, 7, 5]), [1, 3, 1, 1]),
      tf.tile(tf.tensor(b, [1, 3, 9, 5]), [2, 1, 1, 1]), false, true));
    const got = runOn('native', () => tf.matMul(tf.tensor(a, [2, 1, 7, 5]), tf.tensor(b, [3, 9, 5]), false, true));
    assert.equal(got[0].shape, [2, 3, 7, 9]);
    got[0].values.forEach((v, i) => assert.ok(close(v, want[0].values[i], 1e-5), `broadcast matMul element ${i}`));
  });

  test('fused matMul (bias, relu) and its gradients', () => {
    const r = rng(39);
    const a = normal(r, 2 * 7 * 5), b = normal(r, 5 * 9), bias = normal(r, 9), dy = normal(r, 2 * 7 * 9);
    for (const activation of ['linear', 'relu', 'elu'] as const) {
      const f = (x: tf.Tensor, w: tf.Tensor, c: tf.Tensor) => tf.fused.matMul({ a: x, b: w, bias: c, activation });
      const args = () => [tf.tensor(a, [2, 7, 5]), tf.tensor(b, [5, 9]), tf.tensor(bias, [9])];
      sameAsCpu(`fused matMul ${activation}`, () => f(...(args() as [tf.Tensor, tf.Tensor, tf.Tensor])));
      // (tfjs' fused matMul gradient does not support broadcast batch dims: 2-d here)
      sameAsCpu(`fused matMul grads ${activation}`, () => tf.grads(f)([tf.tensor(a, [14, 5]), tf.tensor(b, [5, 9]), tf.tensor(bias, [9])], tf.tensor(dy, [14, 9])));
    }
    sameAsCpu('fused matMul transposed, no bias', () => tf.fused.matMul({ a: tf.tensor(a, [14, 5]), b: tf.tensor(normal(rng(1), 45), [9, 5]), transposeB: true }));
  });

  test('multinomial draws the same samples', () => {
    const r = rng(41);
    const logits = normal(r, 3 * 10);
    sameAsCpu('multinomial logits', () => tf.multinomial(tf.tensor2d(logits, [3, 10]), 50, 1234));
    const p = [0.1, 0.2, 0.3, 0.4];
    sameAsCpu('multinomial normalized', () => tf.multinomial(tf.tensor2d([p, p]), 40, 0.5, true));
  });

  test('gradients through native kernels (tf.grads) match cpu', () => {
    const r = rng(43);
    const emb = normal(r, 20 * 8), w = normal(r, 8 * 6), b = normal(r, 6), tok = Int32Array.from({ length: 12 }, () => randInt(r, 0, 19));
    const f = (e: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => {
      const h = tf.gather(e, tf.tensor(tok, [3, 4], 'int32')).reshape([12, 8]);
      const y = tf.relu(tf.matMul(h, ww).add(bb));
      const z = tf.erf(y.mul(0.7)).mul(y).transpose().slice([1, 0], [4, 12]);
      return tf.concat([z, z.square()], 1).mean();
    };
    sameAsCpu('grads', () => tf.grads(f)([tf.tensor(emb, [20, 8]), tf.tensor(w, [8, 6]), tf.tensor(b, [6])]));
  });

  test.run();
}
