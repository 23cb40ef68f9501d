// Whole training steps (forward, backward, AdamW; dropout 0.2) at the three sizes of
// ../shared/reference/bench_step.py, timed by nanolab's own trainer exactly as results.csv
// reports ms/step. One JSON line per size, like bench_step.py, so the two can be compared.
//   npx tsx bench/step.bench.ts [small|medium|full ...] [--precision fp32|bf16|tf32] [--device cpu|gpu]     NANOLAB_BACKEND=cpu for tfjs' JS backend
// (bf16: the matmuls on AMX-BF16 with fp32 accumulation, as `precision: bf16` in an experiment)
import { activate, probeDevices } from '../core/backend.ts';
import { gptLayers } from '../core/model/presets.ts';
import { trainRun } from '../core/train/train.ts';
import { charTokenizer } from '../core/tokenizers/char.ts';
import * as tf from '../core/tf.ts';

// batch, block, n_embd, heads, layers; steps timed (after the trainer's warm-up steps)
const SIZES: Record<string, [number, number, number, number, number, number]> = {
  small: [32, 8, 32, 4, 3, 200], medium: [16, 64, 128, 4, 4, 20], full: [64, 256, 384, 6, 6, 4],
};

// 65 characters, as Tiny Shakespeare: the vocabulary sets the lm_head's size
const chars = "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
let text = '';
for (let i = 0; text.length < 200_000; i++) text += chars[(i * 7919) % chars.length];
const tokenizer = charTokenizer(text);
const ids = tokenizer.encode(text);
const corpus = { text, source: 'generated', tokenizer, train: ids.subarray(0, 180_000), val: ids.subarray(180_000), sha256: '' };

const args = process.argv.slice(2);
const pi = args.indexOf('--precision');
const precision = pi >= 0 ? args.splice(pi, 2)[1] : 'fp32';
const di = args.indexOf('--device');
const device = di >= 0 ? args.splice(di, 2)[1] : 'cpu';
const devices = await probeDevices();
const chosen = device === 'gpu' ? devices.gpu : devices.cpu;
if (!chosen) throw new Error('--device gpu: no GPU backend here');
await activate(chosen.name);
for (const size of args.length ? args : Object.keys(SIZES)) {
  const [B, T, C, H, L, cpuTimed] = SIZES[size];
  const timed = device === 'gpu' ? 50 : cpuTimed;  // a GPU step is milliseconds: time more of them
  const warm = size === 'full' && device === 'cpu' ? 2 : 5;
  const cfg = {
    seed: 1337, precision,
    model: {
      init: 'pytorch', vars: { block_size: T },
      layers: gptLayers({ n_embd: C, n_head: H, n_layer: L, dropout: 0.2 }),
    },
    train: {
      steps: warm + timed, batch_size: B, timing_warmup: warm, grad_clip: undefined,
      optimizer: { adamw: { lr: 3e-4, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0.01, decay: 'all' } },
      schedule: { warmup_steps: 0, decay: 'none', min_lr: 0 },
      eval: { interval: 1e9, iters: 1 },
    },
    output: { sample_chars: 0 },
  };
  const r = await trainRun(cfg, corpus);
  if (r.status !== 'ok') throw new Error(`${size}: ${r.status} ${r.error}`);
  console.log(JSON.stringify({
    engine: `nanolab ${tf.getBackend()}`, size, device, dtype: precision, params: r.params, steps: timed,
    threads: process.env.NANOLAB_THREADS ?? 'default', ms_per_step_median: Number(r.msMedian.toFixed(3)),
    tokens_per_s: Math.round(r.tokensPerS),
  }));
}
