// Per-kernel timings, tfjs' JS 'cpu' backend vs nanolab's 'native', at the sizes of a training
// step (tokens N = B*T, width C, hidden 4C, heads H, vocabulary V). Each row times one tfjs op
// or fused op end to end (the op call, output allocation and disposal included); fwd+bwd rows
// are tf.grad with a given upstream gradient.
// Run: npx tsx bench/kernels.bench.ts [B] [T] [C] [H] [V]   (NANOLAB_THREADS sets the gemm threads)
import { Bench } from 'tinybench';
import * as tf from '../core/tf.ts';
import { adamw, causalAttention, dropout, embedding, layerNorm, softmaxCrossEntropy } from '../core/ops/fused.ts';
import { nativeGelu } from '../native/fused.ts';
import { loadNativeBackend } from '../native/index.ts';

const [B, T, C, H, V] = [32, 64, 128, 4, 65].map((d, i) => Number(process.argv[2 + i] ?? d));
const N = B * T, D = C / H;

const status = loadNativeBackend();
if (!status.ok) {
  console.log(`skipped: native backend unavailable (${status.reason})`);
  process.exit(0);
}
console.log(`native ${status.version}: gemm ${status.gemmKernel}, ${status.threads} threads; B=${B} T=${T} C=${C} H=${H} V=${V}`);

let seed = 1;
const rand = (n: number, scale = 1) => Float32Array.from({ length: n }, () => {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return (seed / 4294967296 - 0.5) * 2 * scale;
});

/** GELU: the fused native kernel on 'native', layers/feed_forward.ts' composite on 'cpu'. */
const gelu = (x: tf.Tensor) => (tf.getBackend() === 'native' ? nativeGelu(x) : x.mul(tf.erf(x.mul(Math.SQRT1_2)).add(1)).mul(0.5));

interface Case { name: string; shape: string; make(): () => void }

/** A case builds its inputs on the current backend and returns the timed body. */
function op(name: string, shape: string, inputs: () => tf.Tensor[], body: (...x: tf.Tensor[]) => tf.Tensor | tf.Tensor[] | void): Case {
  return {
    name, shape,
    make() {
      const xs = inputs().map((t) => tf.keep(t));
      return () => { tf.tidy(() => { body(...xs); }); };
    },
  };
}

const t = (shape: number[], scale = 1) => () => tf.tensor(rand(shape.reduce((a, b) => a * b, 1), scale), shape);
const ids = (n: number, max: number) => tf.tensor(Int32Array.from({ length: n }, (_, i) => (i * 7919) % max), [n], 'int32');

const cases: Case[] = [
  op('matMul x@W', `${N}x${C} @ ${C}x${4 * C}`, () => [t([N, C])(), t([C, 4 * C])()], (a, b) => tf.matMul(a, b)),
  op('matMul h@W2', `${N}x${4 * C} @ ${4 * C}x${C}`, () => [t([N, 4 * C])(), t([4 * C, C])()], (a, b) => tf.matMul(a, b)),
  op('matMul dW = x^T dy', `(${N}x${C})^T @ ${N}x${4 * C}`, () => [t([N, C])(), t([N, 4 * C])()], (a, b) => tf.matMul(a, b, true, false)),
  op('matMul dx = dy W^T', `${N}x${4 * C} @ (${C}x${4 * C})^T`, () => [t([N, 4 * C])(), t([C, 4 * C])()], (a, b) => tf.matMul(a, b, false, true)),
  op('batched matMul q k^T', `${B * H}x${T}x${D} @ ^T`, () => [t([B, H, T, D])(), t([B, H, T, D])()], (a, b) => tf.matMul(a, b, false, true)),
  op('add bias', `${N}x${4 * C} + ${4 * C}`, () => [t([N, 4 * C])(), t([4 * C])()], (a, b) => tf.add(a, b)),
  op('add', `${N}x${C} + same`, () => [t([N, C])(), t([N, C])()], (a, b) => tf.add(a, b)),
  op('mul', `${N}x${4 * C} * same`, () => [t([N, 4 * C])(), t([N, 4 * C])()], (a, b) => tf.mul(a, b)),
  op('relu', `${N}x${4 * C}`, () => [t([N, 4 * C])()], (a) => tf.relu(a)),
  op('step (relu grad)', `${N}x${4 * C}`, () => [t([N, 4 * C])()], (a) => tf.step(a)),
  op('erf (gelu)', `${N}x${4 * C}`, () => [t([N, 4 * C])()], (a) => tf.erf(a)),
  op('exp', `${N}x${4 * C}`, () => [t([N, 4 * C])()], (a) => tf.exp(a)),
  op('tanh', `${N}x${4 * C}`, () => [t([N, 4 * C])()], (a) => tf.tanh(a)),
  op('sum rows (bias grad)', `${N}x${4 * C} -> ${4 * C}`, () => [t([N, 4 * C])()], (a) => tf.sum(a, 0)),
  op('sum last axis', `${N}x${4 * C} -> ${N}`, () => [t([N, 4 * C])()], (a) => tf.sum(a, -1)),
  op('mean all', `${N}x${4 * C}`, () => [t([N, 4 * C])()], (a) => tf.mean(a)),
  op('max last axis', `${N}x${V}`, () => [t([N, V])()], (a) => tf.max(a, -1)),
  op('softmax', `${N}x${V}`, () => [t([N, V], 4)()], (a) => tf.softmax(a)),
  op('transpose qkv split', `(${B},${T},3,${H},${D}) -> (3,${B},${H},${T},${D})`, () => [t([B, T, 3, H, D])()], (a) => tf.transpose(a, [2, 0, 3, 1, 4])),
  op('transpose head merge', `(${B},${H},${T},${D}) -> (${B},${T},${H},${D})`, () => [t([B, H, T, D])()], (a) => tf.transpose(a, [0, 2, 1, 3])),
  op('transpose 2d', `${N}x${C}`, () => [t([N, C])()], (a) => tf.transpose(a)),
  op('unstack qkv', `(3,${B},${H},${T},${D})`, () => [t([3, B, H, T, D])()], (a) => tf.unstack(a, 0)),
  op('concat heads', `${H} x (${B},${T},${D}) axis -1`, () => Array.from({ length: H }, t([B, T, D])), (...xs) => tf.concat(xs, -1)),
  op('slice', `${N}x${3 * C} -> ${N}x${C}`, () => [t([N, 3 * C])()], (a) => tf.slice(a, [0, C], [N, C])),
  op('gather (embedding)', `${V}x${C} at ${N}`, () => [t([V, C])(), ids(N, V)], (a, i) => tf.gather(a, i)),
  op('unsortedSegmentSum', `${N}x${C} into ${V}`, () => [t([N, C])(), ids(N, V)], (a, i) => tf.unsortedSegmentSum(a, i as tf.Tensor1D, V)),
  op('cast float->int', `${N}x${C}`, () => [t([N, C], 100)()], (a) => tf.cast(a, 'int32')),
  op('where', `${N}x${C}`, () => [t([N, C])(), t([N, C])(), t([N, C])()], (c, a, b) => tf.where(tf.greater(c, 0), a, b)),
  op('fused embedding fwd+bwd', `${V}x${C} at ${N}`, () => [t([V, C])(), ids(N, V), t([N, C])()],
    (a, i, dy) => tf.grad((x: tf.Tensor) => embedding(x, i))(a, dy)),
  op('fused layerNorm fwd', `${N}x${C}`, () => [t([N, C])(), t([C])(), t([C])()], (x, g, b) => layerNorm(x, g, b)),
  op('fused layerNorm fwd+bwd', `${N}x${C}`, () => [t([N, C])(), t([C])(), t([C])(), t([N, C])()],
    (x, g, b, dy) => tf.grads((a: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => layerNorm(a, gg, bb))([x, g, b], dy)),
  op('fused attention fwd', `(${B},${H},${T},${D}) drop 0.1`, () => [t([B, H, T, D])(), t([B, H, T, D])(), t([B, H, T, D])()],
    (q, k, v) => causalAttention(q, k, v, { dropout: 0.1, seed: 1, callId: 1 })),
  op('fused attention fwd+bwd', `(${B},${H},${T},${D}) drop 0.1`, () => [t([B, H, T, D])(), t([B, H, T, D])(), t([B, H, T, D])(), t([B, H, T, D])()],
    (q, k, v, dy) => tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => causalAttention(a, b, c, { dropout: 0.1, seed: 1, callId: 1 }))([q, k, v], dy)),
  op('fused cross-entropy fwd+bwd', `${N}x${V}`, () => [t([N, V], 3)(), ids(N, V)],
    (l, y) => tf.grad((x: tf.Tensor) => softmaxCrossEntropy(x, y))(l)),
  op('fused gelu fwd+bwd', `${N}x${4 * C}`, () => [t([N, 4 * C])(), t([N, 4 * C])()], (x, dy) => tf.grad(gelu)(x, dy)),
  op('fused matMul+bias+relu', `${N}x${C} @ ${C}x${4 * C}`, () => [t([N, C])(), t([C, 4 * C])(), t([4 * C])()],
    (a, b, c) => tf.fused.matMul({ a, b, bias: c, activation: 'relu' })),
  op('fused dropout fwd', `${N}x${4 * C} rate 0.2`, () => [t([N, 4 * C])()], (x) => dropout(x, 0.2, 1, 2)),
];

// AdamW over a model's worth of parameters (12 C^2 per layer, 4 layers, plus embeddings)
const adamCase: Case = {
  name: 'fused adamw step', shape: `${4 * 12 * C * C + 2 * V * C} params`,
  make() {
    const shapes = [[V, C], [T, C], ...Array.from({ length: 4 }, () => [[C, 3 * C], [C, C], [C, 4 * C], [4 * C, C]]).flat()];
    const p = shapes.map((s) => tf.variable(t(s)()));
    const m = shapes.map((s) => tf.variable(tf.zeros(s)));
    const v = shapes.map((s) => tf.variable(tf.zeros(s)));
    const g = shapes.map((s) => tf.keep(t(s)()));
    const decay = shapes.map(() => true);
    let step = 0;
    return () => adamw(p, g, m, v, { lr: 1e-3, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1, step: ++step }, decay);
  },
};
cases.push(adamCase);

const only = process.env.ONLY ? new RegExp(process.env.ONLY) : null;
const rows: Record<string, string>[] = [];
for (const c of cases) {
  if (only && !only.test(c.name)) continue;
  const ms: Record<string, number> = {};
  for (const backend of ['cpu', 'native']) {
    await tf.setBackend(backend);
    const fn = c.make();
    fn(); // warm up (first-call allocations, cached masks)
    const bench = new Bench({ time: Number(process.env.BENCH_MS ?? 400), warmupTime: 50, iterations: 3 });
    bench.add(c.name, fn);
    await bench.run();
    const r = bench.tasks[0].result as { latency?: { p50: number } };
    ms[backend] = r.latency?.p50 ?? NaN;
  }
  rows.push({ kernel: c.name, shape: c.shape, 'cpu ms': ms.cpu.toFixed(3), 'native ms': ms.native.toFixed(3), speedup: `${(ms.cpu / ms.native).toFixed(1)}x` });
  console.log(`${c.name.padEnd(28)} ${c.shape.padEnd(40)} cpu ${ms.cpu.toFixed(3).padStart(10)} ms   native ${ms.native.toFixed(3).padStart(8)} ms   ${(ms.cpu / ms.native).toFixed(1).padStart(6)}x`);
}
console.table(rows);
