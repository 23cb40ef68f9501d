// Whole training runs with `device: gpu` on the CUDA backend's emulator build (NANOLAB_CUDA_EMU=1,
// backend 'cuda-emu'), through the runner, against the same runs on the native CPU backend: a
// small transformer with dropout, and every rung of the ablation ladder; the same seed twice
// gives the same bits; bf16 and tf32 matmuls run and stay close to fp32. Child processes: the
// GPU backend is chosen once per process.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'csv-parse/sync';
import { tempDir } from './helpers.ts';

const test = suite('cuda backend training (emulated)');

const experiment = `
name: cuda-tiny
data: {dataset: moby-dick}
tokenizer: char
model:
  vars: {n_embd: 16, n_head: 2, dropout: 0.1, block_size: 8}
  layers:
    - token_embedding: {dim: $n_embd}
    - position_embedding: {kind: learned}
    - block:
        attention: {n_head: $n_head, projection: true, dropout: $dropout}
        feed_forward: {mult: 4, projection: true, dropout: $dropout}
        residual: true
        norm: pre
    - layer_norm: {}
    - lm_head: {}
train:
  steps: 6
  batch_size: 4
  optimizer: {adamw: {lr: 1.0e-3}}
  eval: {interval: 3, iters: 1}
  timing_warmup: 1
seed: 7
output: {sample_chars: 3}
`;

interface Run { rows: Record<string, string>[]; curves: string[] }

function runOn(device: 'cpu' | 'gpu', extra: string[] = []): Run {
  const dir = tempDir('nanolab-cuda-');
  const file = join(dir, 'tiny.yaml');
  writeFileSync(file, experiment);
  execFileSync(process.execPath, ['--import', 'tsx', 'runner.ts', file, '--device', device, '--out', join(dir, 'out'), '--quiet', ...extra],
    { stdio: 'pipe', env: { ...process.env, NANOLAB_CUDA_EMU: '1' } });
  const rows = parse(readFileSync(join(dir, 'out', 'results.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
  const curveDir = join(dir, 'out', 'curves');
  return { rows, curves: readdirSync(curveDir).sort().map((f) => readFileSync(join(curveDir, f), 'utf8')) };
}

const losses = (r: Run) => r.curves.flatMap((c) => c.trim().split('\n').slice(1).flatMap((l) => l.split(',').slice(1, 3).map(Number)));

test('the same run on cuda-emu and on the native CPU backend: same losses to 1e-4, status ok, backend recorded', () => {
  const gpu = runOn('gpu'), cpu = runOn('cpu');
  assert.is(gpu.rows[0].status, 'ok', gpu.rows[0].error);
  assert.is(gpu.rows[0].backend, 'cuda-emu');
  assert.is(gpu.rows[0].device, 'gpu');
  assert.is(cpu.rows[0].backend, 'native');
  const a = losses(gpu), b = losses(cpu);
  assert.ok(a.length >= 6 && a.length === b.length, `curves of ${a.length} and ${b.length} values`);
  a.forEach((x, i) => assert.ok(Math.abs(x - b[i]) <= 1e-4, `loss ${i}: ${x} on cuda-emu, ${b[i]} on native`));
});

test('every rung of the ablation ladder (experiments/ablation-quick.yaml, 3 steps each) on cuda-emu and on native: same losses to 1e-4', () => {
  const ladder = (device: 'cpu' | 'gpu') => {
    const dir = tempDir('nanolab-cuda-ladder-');
    execFileSync(process.execPath, ['--import', 'tsx', 'runner.ts', 'experiments/ablation-quick.yaml', '--device', device, '--steps', '3',
      '--set', 'train.eval.iters=1', '--set', 'train.eval.interval=3', '--set', 'output.sample_chars=4', '--out', dir, '--quiet'],
    { stdio: 'pipe', env: { ...process.env, NANOLAB_CUDA_EMU: '1' } });
    const rows = parse(readFileSync(join(dir, 'results.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    return new Map(rows.map((r) => [r.rung, { r, curve: readFileSync(join(dir, 'curves', `${r.run_id}.csv`), 'utf8') }]));
  };
  const gpu = ladder('gpu'), cpu = ladder('cpu');
  assert.is(gpu.size, 12);
  for (const [rung, { r, curve }] of gpu) {
    assert.is(r.status, 'ok', `${rung}: ${r.error}`);
    assert.is(r.backend, 'cuda-emu');
    const a = curve.trim().split('\n').slice(1).flatMap((l) => l.split(',').slice(1, 3).map(Number));
    const b = cpu.get(rung)!.curve.trim().split('\n').slice(1).flatMap((l) => l.split(',').slice(1, 3).map(Number));
    assert.is(a.length, b.length, rung);
    a.forEach((x, i) => assert.ok(Math.abs(x - b[i]) <= 1e-4, `${rung} loss ${i}: ${x} on cuda-emu, ${b[i]} on native`));
  }
});

test('same seed, same backend: the same bits', () => {
  const one = runOn('gpu'), two = runOn('gpu');
  assert.equal(one.curves, two.curves);
  assert.is(one.rows[0].val_loss, two.rows[0].val_loss);
});

test('precision bf16 and tf32 run on the device, recorded, close to fp32 but not equal', () => {
  const fp32 = losses(runOn('gpu'));
  for (const p of ['bf16', 'tf32']) {
    const r = runOn('gpu', ['--set', `precision=${p}`]);
    assert.is(r.rows[0].precision, p);
    assert.is(r.rows[0].status, 'ok', r.rows[0].error);
    const l = losses(r);
    assert.ok(l.some((x, i) => x !== fp32[i]), `${p} changes the numbers`);
    l.forEach((x, i) => assert.ok(Math.abs(x - fp32[i]) < 0.05, `${p} loss ${i}: ${x} against fp32 ${fp32[i]}`));
  }
});

test.run();
