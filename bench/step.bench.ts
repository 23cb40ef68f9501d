// Whole training steps (forward, backward, AdamW; dropout 0.2) at the three sizes of
// ../shared/reference/bench_step.py, timed by nanolab's own trainer exactly as results.csv
// reports ms/step. One JSON line per size, like bench_step.py, so the two can be compared.
//   npx tsx bench/step.bench.ts [small|medium|full ...] [--precision fp32|bf16|tf32] [--device cpu|gpu]     NANOLAB_BACKEND=cpu for tfjs' JS backend
// (bf16: the matmuls on AMX-BF16 with fp32 accumulation, as `precision: bf16` in an experiment)
import { activate, probeDevices } from '../core/backend.ts';
import { trainRun } from '../core/train/train.ts';
import * as tf from '../core/tf.ts';
import { SIZES, stepConfig, syntheticCorpus } from './gpt_step.ts';
import { isCudaBackend, loadCudaBackend } from '../native/cuda/index.ts';

// steps timed on the CPU (after the trainer's warm-up steps)
const CPU_TIMED: Record<string, number> = { small: 200, medium: 20, full: 4 };
const corpus = syntheticCorpus();

const args = process.argv.slice(2);
const pi = args.indexOf('--precision');
const precision = pi >= 0 ? args.splice(pi, 2)[1] : 'fp32';
const di = args.indexOf('--device');
const device = di >= 0 ? args.splice(di, 2)[1] : 'cpu';
const devices = await probeDevices();
const chosen = device === 'gpu' ? devices.gpu : devices.cpu;
if (!chosen) throw new Error('--device gpu: no GPU backend here');
await activate(chosen.name);
// on the CUDA backend in bf16: how the matmuls get bf16 operands (NANOLAB_CUDA_BF16_GEMM, matmul.h)
const cuda = isCudaBackend(tf.getBackend()) ? loadCudaBackend({ emulated: tf.getBackend() === 'cuda-emu' }) : null;
const bf16Gemm = cuda?.ok && precision === 'bf16' ? { bf16_gemm: cuda.device?.bf16Gemm } : {};
for (const size of args.length ? args : Object.keys(SIZES)) {
  const timed = device === 'gpu' ? 50 : CPU_TIMED[size];  // a GPU step is milliseconds: time more of them
  const warm = size === 'full' && device === 'cpu' ? 2 : 5;
  const cfg = stepConfig(size, precision, warm, timed);
  const r = await trainRun(cfg, corpus);
  if (r.status !== 'ok') throw new Error(`${size}: ${r.status} ${r.error}`);
  console.log(JSON.stringify({
    engine: `nanolab ${tf.getBackend()}`, size, device, dtype: precision, ...bf16Gemm, params: r.params, steps: timed,
    threads: process.env.NANOLAB_THREADS ?? 'default', ms_per_step_median: Number(r.msMedian.toFixed(3)),
    tokens_per_s: Math.round(r.tokensPerS),
  }));
}
