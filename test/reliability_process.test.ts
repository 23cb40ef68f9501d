// Reliability with real child processes: Ctrl-C (SIGINT) and SIGTERM mid-run, a second Ctrl-C
// that quits at once, and a sweep sharded over three processes (explicit index, Slurm's and
// Kubernetes' environment variables) merged back into the table one process makes.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import YAML from 'yaml';
import { cli, tempDir, tinyExperiment } from './helpers.ts';

const ROOT = process.cwd();
function experiment(train: string, sweep = ''): string {
  return tinyExperiment({ name: 'proc', prefix: 'nanolab-proc-', train, extra: sweep });
}

interface Proc { child: ChildProcess; out: () => string; err: () => string; exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }> }

/** `node --import tsx runner.ts ...` (faster to start than npx). */
function runner(args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'runner.ts'), ...args], {
    cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '', err = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { err += d; });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((res) => child.on('close', (code, signal) => res({ code, signal, at: performance.now() })));
  return { child, out: () => out, err: () => err, exit };
}

async function waitFor(p: Proc, re: RegExp, timeoutMs = 60000): Promise<void> {
  const t0 = performance.now();
  while (!re.test(p.out())) {
    if (p.child.exitCode !== null) throw new Error(`exited before ${re}: ${p.out()} ${p.err()}`);
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${re}: ${p.out()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const rows = (dir: string) => parse(readFileSync(join(dir, 'results.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
const TIMING = ['ms_per_step_median', 'ms_per_step_p95', 'tokens_per_s', 'train_s', 'eval_s', 'wall_s'];
const numbers = (r: Record<string, string>) => Object.fromEntries(Object.entries(r).filter(([k]) => !TIMING.includes(k)));

/** Every file a sweep writes is whole: the CSV parses strictly, the JSON parses, rows are complete. */
function assertValidOutput(out: string): void {
  if (!existsSync(out)) return;
  const csv = join(out, 'results.csv');
  if (existsSync(csv)) {
    const text = readFileSync(csv, 'utf8');
    assert.ok(text.endsWith('\n'), 'results.csv ends with a complete line');
    const recs = parse(text) as string[][];
    for (const r of recs) assert.is(r.length, recs[0].length, 'every row has every column');
  }
  for (const f of ['meta.json', 'samples.json']) if (existsSync(join(out, f))) JSON.parse(readFileSync(join(out, f), 'utf8'));
  assert.equal(readdirSync(out).filter((f) => f.includes('.tmp-')), [], 'no temporary files left');
}

const timed = (name: string, fn: () => Promise<void>) => test(name, async () => {
  const t0 = performance.now();
  await fn();
  if (process.env.NANOLAB_TEST_TIMES) console.log(`  ${name}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
});

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  timed(`${sig} mid-run: the step finishes, the row says interrupted with partial metrics, exit 130`, async () => {
    const file = experiment('{steps: 3000, batch_size: 8, eval: {interval: 50, iters: 2}}', 'sweep: {seeds: [1, 2]}');
    const out = join(tempDir(), 'out');
    const p = runner([file, '--out', out]);
    await waitFor(p, /step 100: train/);
    p.child.kill(sig);
    const { code } = await p.exit;
    assert.is(code, 130, p.err());
    const r = rows(out);
    assert.is(r.length, 1, 'the second run never started');
    assert.is(r[0].status, 'interrupted');
    assert.ok(Number(r[0].steps) >= 100 && Number(r[0].steps) < 3000, `steps ${r[0].steps}`);
    assert.ok(Number(r[0].val_loss) > 0, 'partial metrics: the loss at the interruption');
    assert.match(readFileSync(join(out, 'results.md'), 'utf8'), /\| interrupted \|/);
    assert.is(JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8')).status, 'interrupted');
    assert.match(p.err(), new RegExp(`${sig}: finishing the current step`));
    assert.match(p.out(), /interrupted; finished rows are saved in/);
    assert.not.match(p.err(), /\n\s+at /, 'no stack trace');
    assertValidOutput(out);
  });
}

timed('a second SIGINT quits at once (mid-evaluation), leaving every file valid', async () => {
  // evaluation only at the start and the end, and a long one: after the first Ctrl-C the run
  // finishes its step and starts the final evaluation (seconds); the second Ctrl-C must not wait
  const file = experiment('{steps: 3000, batch_size: 8, eval: {interval: 100000, iters: 8000}}', 'sweep: {seeds: [1, 2]}');
  const out = join(tempDir(), 'out');
  const p = runner([file, '--out', out]);
  await waitFor(p, /step 0: train/);
  await new Promise((r) => setTimeout(r, 200));
  p.child.kill('SIGINT');
  while (!/finishing the current step/.test(p.err())) await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => setTimeout(r, 100));
  const sent = performance.now();
  p.child.kill('SIGINT');
  const { code, at } = await p.exit;
  assert.is(code, 130);
  assert.ok(at - sent < 1000, `took ${(at - sent).toFixed(0)} ms to quit`);
  assertValidOutput(out);
  assert.equal(rows(out), [], 'no row: the run was abandoned during its final evaluation');
  assert.not.match(p.err(), /\n\s+at /);
});

/** A process with the exit promise of `runner` (for the example scripts). */
function proc(cmd: string, args: string[], env: Record<string, string>): Proc {
  const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '', err = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { err += d; });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((res) => child.on('close', (code, signal) => res({ code, signal, at: performance.now() })));
  return { child, out: () => out, err: () => err, exit };
}

timed('sharded 3 ways in 3 processes (explicit, the Slurm example script, the Kubernetes example command) and merged = one process', async () => {
  const file = experiment('{steps: 12, batch_size: 4, eval: {interval: 6, iters: 2}}', 'sweep: {grid: {n_embd: [8, 16]}, seeds: [1, 2, 3, 4]}');
  const base = join(tempDir(), 'sharded'), whole = join(tempDir(), 'whole');
  const clean = { SLURM_ARRAY_TASK_ID: '', SLURM_ARRAY_TASK_MIN: '', SLURM_ARRAY_TASK_COUNT: '', JOB_COMPLETION_INDEX: '' };
  // the Kubernetes Job's container command, pointed at this experiment, 3 shards and a temp dir
  const job = YAML.parseAllDocuments(readFileSync('examples/kubernetes/ablation-job.yaml', 'utf8')).map((d) => d.toJS()).find((d) => d.kind === 'Job');
  assert.is(job.spec.completionMode, 'Indexed');
  const command: string[] = job.spec.template.spec.containers[0].command;
  assert.ok(command.includes(`auto/${job.spec.completions}`), 'completions and --shard auto/N agree');
  const k8s = command.map((a) => (a === 'experiments/ablation.yaml' ? file : a === '/results/ablation' ? base : a === `auto/${job.spec.completions}` ? 'auto/3' : a));
  const shards = [
    runner([file, '--out', base, '--quiet', '--shard', '0/3'], clean),
    // the Slurm array script itself, as task 1 of a 3-task array
    proc('bash', ['examples/slurm/ablation.sbatch', file, base], { ...clean, SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_COUNT: '3', SLURM_SUBMIT_DIR: ROOT, SLURM_CPUS_PER_TASK: '1' }),
    proc(k8s[0] === 'node' ? process.execPath : k8s[0], k8s.slice(1), { ...clean, JOB_COMPLETION_INDEX: '2' }),
  ];
  const one = runner([file, '--out', whole, '--quiet']);
  for (const s of [...shards, one]) assert.is((await s.exit).code, 0, s.err());
  assert.equal(readdirSync(base).sort(), ['shard-0-of-3', 'shard-1-of-3', 'shard-2-of-3']);
  assert.equal(rows(join(base, 'shard-1-of-3')).map((r) => r.run), ['n_embd=8/seed=2', 'n_embd=16/seed=1', 'n_embd=16/seed=4'], 'round-robin: runs 2, 5 and 8');
  const m = await cli(['merge', ...['0', '1', '2'].map((i) => join(base, `shard-${i}-of-3`)), '--out', base]);
  assert.is(m.code, 0, m.err);
  const merged = rows(base), single = rows(whole);
  assert.is(merged.length, 8);
  assert.equal(merged.map((r) => r.run_id), single.map((r) => r.run_id), 'same rows in run order');
  assert.equal(merged.map(numbers), single.map(numbers), 'same numbers');
  for (const r of single) assert.is(readFileSync(join(base, 'curves', `${r.run_id}.csv`), 'utf8'), readFileSync(join(whole, 'curves', `${r.run_id}.csv`), 'utf8'));
  assert.is(JSON.parse(readFileSync(join(base, 'meta.json'), 'utf8')).status, 'complete');
});

test.run();
