// Memory soak: N training steps of the full ablation model on 'native', printing tensor count,
// RSS, V8 heap and the buffer pool every EVERY (1000) steps: all must stay flat.
// npx tsx native/bench/soak.ts [steps] [n_embd] [block_size] [batch]
import * as tf from '../../core/tf.ts';
import { gptLayers } from '../../core/model/presets.ts';
import { makeBenchStep } from './step.ts';
import { loadNativeBackend, type NativeBackend } from '../index.ts';

const [steps, C, T, B] = [10000, 32, 8, 32].map((d, i) => Number(process.argv[2 + i] ?? d));
const every = Number(process.env.EVERY ?? 1000);
console.log(loadNativeBackend());
await tf.setBackend('native');
const V = 65;
const bench = makeBenchStep(gptLayers({ n_embd: C, n_head: 4, n_layer: 3, dropout: 0.2 }), { B, T, V }, (i, x, y) => {
  for (let j = 0; j < x.length; j++) { x[j] = (i * 31 + j * 7) % V; y[j] = (x[j] + 1) % V; }
});
const t0 = performance.now();
for (let i = 0; i < steps; i++) {
  const l = bench.step(i);
  if ((i + 1) % every === 0 || i === 0) {
    const mu = process.memoryUsage();
    console.log(`step ${i + 1}: loss ${l.toFixed(4)} tensors ${tf.memory().numTensors} rss ${(mu.rss / 2 ** 20).toFixed(1)} MB heap ${(mu.heapUsed / 2 ** 20).toFixed(1)} MB external ${(mu.external / 2 ** 20).toFixed(1)} MB pool ${((tf.backend() as NativeBackend).pooledBytes() / 2 ** 20).toFixed(1)} MB, ${((performance.now() - t0) / (i + 1)).toFixed(2)} ms/step`);
  }
}
