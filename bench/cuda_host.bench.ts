// The host-side cost of one training step on the CUDA backend, measurable without a GPU: the
// backend's emulator build with NLEMU_SKIP=1 (every kernel launch returns at once) runs only what
// the CPU does around the kernels (tfjs' bookkeeping, the addon's calls, allocation). On a GPU this
// work overlaps the kernels, and bounds the step from below when it is the longer of the two.
//   npx tsx bench/cuda_host.bench.ts [small|medium|full ...]    (the sizes of bench/step.bench.ts)
// One JSON line per size: the median host ms per step (the losses are meaningless: no kernel ran).
process.env.NANOLAB_CUDA_EMU = '1';
process.env.NLEMU_SKIP = '1';
const { activate, probeDevices } = await import('../core/backend.ts');
const { gptLayers } = await import('../core/model/presets.ts');
const { trainRun } = await import('../core/train/train.ts');
const { charTokenizer } = await import('../core/tokenizers/char.ts');

const SIZES: Record<string, [number, number, number, number, number]> = {
  small: [32, 8, 32, 4, 3], medium: [16, 64, 128, 4, 4], full: [64, 256, 384, 6, 6],
};
const chars = "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
let text = '';
for (let i = 0; text.length < 200_000; i++) text += chars[(i * 7919) % chars.length];
const tokenizer = charTokenizer(text);
const ids = tokenizer.encode(text);
const corpus = { text, source: 'generated', tokenizer, train: ids.subarray(0, 180_000), val: ids.subarray(180_000), sha256: '' };

const devices = await probeDevices();
if (devices.gpu?.name !== 'cuda-emu') throw new Error('the CUDA emulator build is missing: npm run build:cuda');
await activate(devices.gpu.name);
for (const size of process.argv.length > 2 ? process.argv.slice(2) : Object.keys(SIZES)) {
  const [B, T, C, H, L] = SIZES[size];
  const cfg = {
    seed: 1337, precision: 'fp32',
    model: { init: 'pytorch', vars: { block_size: T }, layers: gptLayers({ n_embd: C, n_head: H, n_layer: L, dropout: 0.2 }) },
    train: {
      steps: 120, batch_size: B, timing_warmup: 20, grad_clip: undefined,
      optimizer: { adamw: { lr: 3e-4, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0.01, decay: 'all' } },
      schedule: { warmup_steps: 0, decay: 'none', min_lr: 0 }, eval: { interval: 1e9, iters: 1 },
    },
    output: { sample_chars: 0 },
  };
  const r = await trainRun(cfg, corpus);
  console.log(JSON.stringify({ engine: 'nanolab cuda (host side only)', size, host_ms_per_step_median: Number(r.msMedian.toFixed(3)), steps: 100 }));
}
