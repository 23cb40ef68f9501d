// Times whole training steps of the full ablation model (blocks + residual + projection +
// layer norm + dropout) on 'cpu' and 'native', and lists the kernels one native step runs.
// npx tsx native/bench/train_step.ts [n_embd] [block_size] [batch] [n_layer] [n_head] [steps]
import * as tf from '../../core/tf.ts';
import { gptLayers } from '../../core/model/presets.ts';
import { makeBenchStep } from './step.ts';
import { loadNativeBackend, setNativePrecision } from '../index.ts';

const [C, T, B, L, H, steps] = process.argv.slice(2).map(Number);
const cfg = { C: C || 32, T: T || 8, B: B || 32, L: L || 3, H: H || 4, steps: steps || 30 };
const V = 65;
const layers = gptLayers({ n_embd: cfg.C, n_head: cfg.H, n_layer: cfg.L, dropout: 0.2, activation: (process.env.ACT ?? 'relu') as 'relu' | 'gelu' });
console.log(loadNativeBackend());
// NANOLAB_PRECISION=bf16: matmuls in bf16 (AMX), as `precision: bf16`
if (process.env.NANOLAB_PRECISION && !setNativePrecision(process.env.NANOLAB_PRECISION)) throw new Error('precision unavailable');

// PROFILE=cpu: per-kernel CPU time (robust on a loaded machine), by wrapping every kernel
const cpuProfile = new Map<string, { n: number; ms: number }>();
let profiling = false;
if (process.env.PROFILE === 'cpu') {
  for (const k of tf.getKernelsForBackend('native')) {
    const f = k.kernelFunc;
    tf.unregisterKernel(k.kernelName, 'native');
    tf.registerKernel({ ...k, kernelFunc: (args) => {
      if (!profiling) return f(args);
      const c0 = process.cpuUsage();
      const out = f(args);
      const c = process.cpuUsage(c0);
      const a = cpuProfile.get(k.kernelName) ?? { n: 0, ms: 0 };
      a.n++; a.ms += (c.user + c.system) / 1000;
      cpuProfile.set(k.kernelName, a);
      return out;
    } });
  }
}

function run(backend: string, profile: boolean) {
  tf.setBackend(backend);
  const bench = makeBenchStep(layers, { B: cfg.B, T: cfg.T, V }, (_i, x, y) => {
    for (let j = 0; j < x.length; j++) { x[j] = (j * 7) % V; y[j] = (x[j] + 1) % V; }
  });
  const step = (i: number) => bench.step(i);
  for (let i = 0; i < 3; i++) step(i);
  const times: number[] = [], cpus: number[] = [];
  let last = 0;
  for (let i = 3; i < cfg.steps; i++) {
    const t0 = performance.now(), c0 = process.cpuUsage();
    last = step(i);
    const c = process.cpuUsage(c0);
    times.push(performance.now() - t0); cpus.push((c.user + c.system) / 1000);
  }
  const med = (a: number[]) => a.slice().sort((x, y) => x - y)[a.length >> 1];
  console.log(`${backend}: median ${med(times).toFixed(2)} ms/step wall, ${med(cpus).toFixed(2)} ms cpu, loss ${last.toFixed(4)}, tensors ${tf.memory().numTensors}`);
  if (process.env.PROFILE === 'cpu' && backend === 'native') {
    profiling = true;
    const c0 = process.cpuUsage();
    for (let i = 0; i < 5; i++) step(100 + i);
    const c = process.cpuUsage(c0);
    profiling = false;
    const total = (c.user + c.system) / 1000 / 5;
    let inKernels = 0;
    const rows = [...cpuProfile.entries()].sort((a, b) => b[1].ms - a[1].ms);
    console.log(`cpu time per step ${total.toFixed(1)} ms; by kernel:`);
    for (const [name, a] of rows) { inKernels += a.ms / 5; console.log(`  ${name.padEnd(34)} ${String(a.n / 5).padStart(5)} calls ${(a.ms / 5).toFixed(2).padStart(9)} ms`); }
    console.log(`  outside kernels (tfjs engine, tape, JS)   ${(total - inKernels).toFixed(2).padStart(9)} ms`);
  }
  if (profile) {
    return tf.profile(() => { step(99); }).then((p) => {
      const agg = new Map<string, { n: number; ms: number }>();
      for (const k of p.kernels) {
        const a = agg.get(k.name) ?? { n: 0, ms: 0 };
        a.n++; a.ms += k.kernelTimeMs as number;
        agg.set(k.name, a);
      }
      const rows = [...agg.entries()].sort((a, b) => b[1].ms - a[1].ms);
      console.log(`kernels per step on ${backend}: ${p.kernels.length} calls`);
      if (process.env.SEQ) console.log(p.kernels.map((k) => k.name).join(" "));
      for (const [name, a] of rows) console.log(`  ${name.padEnd(34)} ${String(a.n).padStart(5)} calls ${a.ms.toFixed(2).padStart(9)} ms`);
      bench.dispose();
    });
  }
  bench.dispose();
  return Promise.resolve();
}

const which = process.env.BACKENDS?.split(',') ?? ['cpu', 'native'];
for (const b of which) await run(b, process.env.PROFILE === '1');
