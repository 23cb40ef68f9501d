// The host-side cost of one training step on the CUDA backend, measurable without a GPU: the
// backend runs on its emulator build, and each step's time minus the time its emulated kernels
// took (native/cuda/emu: kernel_seconds) is what the CPU spends around them (tfjs, the addon,
// allocation). On a GPU that work overlaps the kernels only while it is shorter than they are.
//   npx tsx bench/cuda_host.bench.ts [B T C H L]     (default: the lecture's small model, 32 8 32 4 3)
// Prints one JSON line: the host ms of each timed step and their median.
process.env.NANOLAB_CUDA_EMU = '1';
const tf = await import('../core/tf.ts');
const { activate, probeDevices } = await import('../core/backend.ts');
const { gptLayers } = await import('../core/model/presets.ts');
const { trainRun } = await import('../core/train/train.ts');
const { charTokenizer } = await import('../core/tokenizers/char.ts');

const chars = "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
let text = '';
for (let i = 0; text.length < 200_000; i++) text += chars[(i * 7919) % chars.length];
const tokenizer = charTokenizer(text);
const ids = tokenizer.encode(text);
const corpus = { text, source: 'generated', tokenizer, train: ids.subarray(0, 180_000), val: ids.subarray(180_000), sha256: '' };

const devices = await probeDevices();
if (!devices.gpu) throw new Error('the CUDA emulator build is missing: npm run build:cuda');
await activate(devices.gpu.name);
const binding = (tf.backend() as unknown as { binding: { emuKernelSeconds(): number } }).binding;
const [B, T, C, H, L] = process.argv.length > 2 ? process.argv.slice(2).map(Number) : [32, 8, 32, 4, 3];
const cfg = {
  seed: 1337, precision: 'fp32',
  model: { init: 'pytorch', vars: { block_size: T }, layers: gptLayers({ n_embd: C, n_head: H, n_layer: L, dropout: 0.2 }) },
  train: {
    steps: 8, batch_size: B, timing_warmup: 1,
    optimizer: { adamw: { lr: 3e-4, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0.01, decay: 'all' } },
    schedule: { warmup_steps: 0, decay: 'none', min_lr: 0 }, eval: { interval: 1e9, iters: 1 },
  },
  output: { sample_chars: 0 },
};
// onProgress comes right after each step's loss is read: kernel time between two calls is that step's
let last = -1;
const host: number[] = [];
const r = await trainRun(cfg, corpus, {
  onProgress: (p) => {
    const k = binding.emuKernelSeconds();
    if (last >= 0) host.push(p.msPerStep - (k - last) * 1000);
    last = k;
  },
});
if (r.status !== 'ok') throw new Error(`${r.status}: ${r.error}`);
const sorted = [...host].sort((a, b) => a - b);
console.log(JSON.stringify({ B, T, C, H, L, host_ms_per_step: host.map((h) => Number(h.toFixed(2))), median: Number(sorted[sorted.length >> 1].toFixed(2)) }));
