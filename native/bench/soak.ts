// Memory soak: N training steps of the full ablation model on 'native', printing tensor count,
// RSS, V8 heap and the buffer pool every EVERY (1000) steps: all must stay flat.
// npx tsx native/bench/soak.ts [steps] [n_embd] [block_size] [batch]
import * as tf from '../../core/tf.ts';
import { buildModel } from '../../core/model/build.ts';
import { adamw } from '../../core/ops/fused.ts';
import { lossOf } from '../../core/train/train.ts';
import { loadNativeBackend, type NativeBackend } from '../index.ts';

const [steps, C, T, B] = [10000, 32, 8, 32].map((d, i) => Number(process.argv[2 + i] ?? d));
const every = Number(process.env.EVERY ?? 1000);
console.log(loadNativeBackend());
await tf.setBackend('native');
const V = 65;
const layers = [
  { token_embedding: { dim: C } }, { position_embedding: { kind: 'learned' } },
  { repeat: 3, layers: [{ block: { attention: { n_head: 4, projection: true, dropout: 0.2, causal: true, impl: 'batched' },
    feed_forward: { mult: 4, projection: true, dropout: 0.2, activation: 'relu' }, residual: true, norm: 'pre' } }] },
  { layer_norm: { enabled: true } }, { lm_head: {} },
];
const model = buildModel(layers, { vocabSize: V, blockSize: T, init: 'pytorch', seed: 1, dry: false });
const vars = model.params.map((p) => p.v!);
const m = vars.map((v) => tf.variable(tf.zerosLike(v), false));
const v2 = vars.map((v) => tf.variable(tf.zerosLike(v), false));
const decay = model.params.map((p) => p.shape.length >= 2);
let callId = 0;
const fc = { training: true, seed: 1, nextCallId: () => ++callId };
const x = new Int32Array(B * T), y = new Int32Array(B * T);
const t0 = performance.now();
for (let i = 0; i < steps; i++) {
  for (let j = 0; j < x.length; j++) { x[j] = (i * 31 + j * 7) % V; y[j] = (x[j] + 1) % V; }
  const loss = tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => lossOf(model, tf.tensor2d(x, [B, T], 'int32'), tf.tensor2d(y, [B, T], 'int32'), fc), vars);
    adamw(vars, vars.map((v) => grads[v.name]), m, v2, { lr: 1e-3, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.01, step: i + 1 }, decay);
    return value;
  });
  const l = loss.dataSync()[0];
  loss.dispose();
  if ((i + 1) % every === 0 || i === 0) {
    const mu = process.memoryUsage();
    console.log(`step ${i + 1}: loss ${l.toFixed(4)} tensors ${tf.memory().numTensors} rss ${(mu.rss / 2 ** 20).toFixed(1)} MB heap ${(mu.heapUsed / 2 ** 20).toFixed(1)} MB external ${(mu.external / 2 ** 20).toFixed(1)} MB pool ${((tf.backend() as NativeBackend).pooledBytes() / 2 ** 20).toFixed(1)} MB, ${((performance.now() - t0) / (i + 1)).toFixed(2)} ms/step`);
  }
}
