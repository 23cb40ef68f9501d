// The host-side cost of one training step on the CUDA backend, measurable without a GPU: the
// backend's emulator build with NLEMU_SKIP=1 (every kernel launch returns at once) runs only what
// the CPU does around the kernels (tfjs' bookkeeping, the addon's calls, allocation). On a GPU this
// work overlaps the kernels, and bounds the step from below when it is the longer of the two.
//   npx tsx bench/cuda_host.bench.ts [small|medium|full ...]    (the sizes of bench/step.bench.ts)
// One JSON line per size: the median host ms per step (the losses are meaningless: no kernel ran).
process.env.NANOLAB_CUDA_EMU = '1';
process.env.NLEMU_SKIP = '1';
const { activate, probeDevices } = await import('../core/backend.ts');
const { trainRun } = await import('../core/train/train.ts');
const { SIZES, stepConfig, syntheticCorpus } = await import('./gpt_step.ts');

const corpus = syntheticCorpus();
const devices = await probeDevices();
if (devices.gpu?.name !== 'cuda-emu') throw new Error('the CUDA emulator build is missing: npm run build:cuda');
await activate(devices.gpu.name);
for (const size of process.argv.length > 2 ? process.argv.slice(2) : Object.keys(SIZES)) {
  const r = await trainRun(stepConfig(size, 'fp32', 20, 100), corpus);
  console.log(JSON.stringify({ engine: 'nanolab cuda (host side only)', size, host_ms_per_step_median: Number(r.msMedian.toFixed(3)), steps: 100 }));
}
