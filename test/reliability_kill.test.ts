// kill -9 at random (seeded) moments, at least 20 times: after every kill each file in the output
// directory is whole (the CSV parses and holds only complete rows, the JSON parses), and reruns
// finish the sweep with exactly the table, curves and samples of an uninterrupted sweep (timing
// columns aside). Runs checkpoint every few steps, so a killed run resumes mid-way: the curves
// being byte-identical shows the resume is exact. Two lanes run side by side to keep it short.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tempDir, tinyExperiment } from './helpers.ts';

const ROOT = process.cwd();
const KILLS = 20;
const LANES = 2;
const SEED = Number(process.env.KILL_SEED ?? 20240917);
const RUNS = 4;

function experiment(): string {
  return tinyExperiment({
    name: 'kill', prefix: 'nanolab-kill-', sampleChars: 12,
    train: '{steps: 40, batch_size: 8, optimizer: {adamw: {lr: 3.0e-3}}, eval: {interval: 20, iters: 2}, checkpoint: {every: 7}}',
    extra: `sweep: {seeds: [${Array.from({ length: RUNS }, (_, i) => i + 1).join(', ')}]}\n`,
  });
}

/** mulberry32: a small seeded generator, so the kill moments are the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Outcome {
  killed: boolean; code: number | null; ms: number;
  /** from the first run's start to the exit; of it, after the last run (summaries, the report) */
  workMs: number; tailMs: number;
}

/** Starts the sweep and SIGKILLs it `delay` ms after its first run starts (or after spawning, when `early`). */
async function runAndKill(file: string, out: string, delay: number | null, early: boolean): Promise<Outcome> {
  const t0 = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'runner.ts'), file, '--out', out], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '', stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise<number | null>((res) => child.on('close', (code) => res(code)));
  let done = false, started = NaN, lastRun = NaN;
  void exited.then(() => { done = true; });
  child.stdout.on('data', () => {
    if (Number.isNaN(started) && /^\[\d+\/\d+\] /m.test(stdout)) started = performance.now();
    const m = /^\[(\d+)\/(\d+)\] [^\n]*: (ok|diverged|error)/m.exec(stdout.split('\n').slice(-3).join('\n'));
    if (m && m[1] === m[2]) lastRun = performance.now();
  });
  if (delay === null) {
    const code = await exited;
    if (code !== 0) throw new Error(`the final run failed (${code}): ${stderr}`);
    const end = performance.now();
    return { killed: false, code, ms: end - t0, workMs: end - started, tailMs: end - lastRun };
  }
  if (!early) while (!done && !/^\[\d+\/\d+\] /m.test(stdout) && !/already done/.test(stdout)) await sleep(5);
  await sleep(delay);
  if (done) {
    const code = await exited;
    if (code !== 0) throw new Error(`exited with ${code}: ${stderr}`);
    return { killed: false, code, ms: performance.now() - t0, workMs: NaN, tailMs: NaN };
  }
  child.kill('SIGKILL');
  await exited;
  if (/\n\s+at /.test(stderr)) throw new Error(`stack trace before the kill: ${stderr}`);
  return { killed: true, code: null, ms: performance.now() - t0, workMs: NaN, tailMs: NaN };
}

const COLUMNS = ['run_id', 'experiment', 'run', 'rung', 'seed', 'device', 'backend', 'precision', 'params', 'steps', 'train_loss', 'val_loss', 'best_val_loss',
  'ms_per_step_median', 'ms_per_step_p95', 'tokens_per_s', 'train_s', 'eval_s', 'wall_s', 'status', 'error'];
const TIMING = ['ms_per_step_median', 'ms_per_step_p95', 'tokens_per_s', 'train_s', 'eval_s', 'wall_s'];

/** Everything in the output directory is whole, whenever the kill came. */
function assertWhole(out: string, ctx: string): void {
  if (!existsSync(out)) return;
  const csv = join(out, 'results.csv');
  if (existsSync(csv)) {
    const text = readFileSync(csv, 'utf8');
    assert.ok(text.endsWith('\n'), `${ctx}: results.csv ends mid-line`);
    const recs = parse(text) as string[][]; // strict: a torn quote or row fails here
    assert.equal(recs[0], COLUMNS, `${ctx}: header`);
    const ids = new Set<string>();
    for (const r of recs.slice(1)) {
      assert.is(r.length, COLUMNS.length, `${ctx}: a row with ${r.length} values`);
      const row = Object.fromEntries(COLUMNS.map((c, i) => [c, r[i]]));
      assert.match(row.run_id, /^[0-9a-f]{12}$/);
      assert.not.ok(ids.has(row.run_id), `${ctx}: run ${row.run_id} twice`);
      ids.add(row.run_id);
      assert.is(row.status, 'ok', `${ctx}: status ${row.status}`);
      assert.ok(Number(row.val_loss) > 0 && row.steps === '40', `${ctx}: row ${r.join(',')}`);
    }
  }
  for (const f of ['meta.json', 'samples.json']) if (existsSync(join(out, f))) JSON.parse(readFileSync(join(out, f), 'utf8'));
  if (existsSync(join(out, 'results.md'))) assert.match(readFileSync(join(out, 'results.md'), 'utf8'), /^# Results: kill\n[\s\S]*\n$/);
  for (const sub of ['curves', 'checkpoints']) {
    const d = join(out, sub);
    if (!existsSync(d)) continue;
    for (const f of readdirSync(d)) {
      if (f.endsWith('.csv')) assert.equal((parse(readFileSync(join(d, f), 'utf8')) as string[][])[0], ['step', 'train_loss', 'val_loss', 'lr'], `${ctx}: ${f}`);
      if (f.endsWith('.json')) JSON.parse(readFileSync(join(d, f), 'utf8'));
    }
  }
}

function table(out: string) {
  const rows = parse(readFileSync(join(out, 'results.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
  return rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !TIMING.includes(k))));
}

function assertSameAsReference(out: string, ref: string, ctx: string): void {
  const got = table(out), want = table(ref);
  assert.equal(got, want, `${ctx}: the table differs from the uninterrupted sweep`);
  for (const r of want) assert.is(readFileSync(join(out, 'curves', `${r.run_id}.csv`), 'utf8'), readFileSync(join(ref, 'curves', `${r.run_id}.csv`), 'utf8'), `${ctx}: curve of ${r.run}`);
  assert.is(readFileSync(join(out, 'samples.md'), 'utf8'), readFileSync(join(ref, 'samples.md'), 'utf8'), `${ctx}: samples`);
  assert.equal(readdirSync(out).filter((f) => f.includes('.tmp-')), [], `${ctx}: temporary files left`);
  assert.equal(existsSync(join(out, 'checkpoints')) ? readdirSync(join(out, 'checkpoints')) : [], [], `${ctx}: checkpoints left after completion`);
}

test(`kill -9 at ${KILLS}+ random moments: files stay whole, reruns finish with the uninterrupted table`, async () => {
  const t0 = performance.now();
  const file = experiment();
  const ref = join(tempDir(), 'ref');
  const base = await runAndKill(file, ref, null, false);
  // the kill comes at a random moment of what is left to do: the runs not done yet, then the
  // summaries and the report (so kills land everywhere, and few reruns find nothing to do)
  const work = base.workMs, tail = Number.isFinite(base.tailMs) ? base.tailMs : work / 3, perRun = (work - tail) / RUNS;
  const remaining = (out: string) => {
    try { return RUNS - (parse(readFileSync(join(out, 'results.csv'), 'utf8')) as string[][]).length + 1; } catch { return RUNS; }
  };
  let kills = 0, completions = 0, rounds = 0, withCheckpoint = 0, midWrite = 0;
  const lane = async (id: number) => {
    const random = rng(SEED + id);
    let out = join(tempDir(), `lane${id}-round0`);
    let laneKills = 0;
    while (laneKills < Math.ceil(KILLS / LANES)) {
      const early = random() < 0.25; // sometimes during start-up (validation, meta.json, experiment.yaml)
      const delay = early ? random() * 1200 : random() * (remaining(out) * perRun + tail) * 0.9;
      const o = await runAndKill(file, out, delay, early);
      assertWhole(out, `lane ${id}, after ${o.killed ? `a kill at ${delay.toFixed(0)} ms${early ? ' after spawning' : ' into the sweep'}` : 'a completed run'}`);
      if (o.killed) {
        laneKills++; kills++;
        // where it landed: mid-run with a checkpoint to resume from, mid-write (a temporary file)
        const ls = (d: string) => (existsSync(d) ? readdirSync(d) : []);
        if (ls(join(out, 'checkpoints')).some((f) => f.endsWith('.json'))) withCheckpoint++;
        if (['.', 'curves', 'checkpoints', 'charts'].some((d) => ls(join(out, d)).some((f) => f.includes('.tmp-')))) midWrite++;
        continue;
      }
      // it finished before the kill: check it, then start a new round in a fresh directory
      completions++;
      assertSameAsReference(out, ref, `lane ${id}, round ${rounds}`);
      rounds++;
      out = join(tempDir(), `lane${id}-round${rounds}`);
    }
    await runAndKill(file, out, null, false); // finish what is left
    completions++;
    assertWhole(out, `lane ${id}, final`);
    assertSameAsReference(out, ref, `lane ${id}, final`);
  };
  await Promise.all(Array.from({ length: LANES }, (_, i) => lane(i)));
  assert.ok(kills >= KILLS, `${kills} kills`);
  if (process.env.NANOLAB_TEST_TIMES) console.log(`  ${kills} kills (${withCheckpoint} left a checkpoint to resume, ${midWrite} came mid-write), ${completions} completed sweeps, ${((performance.now() - t0) / 1000).toFixed(1)} s (an uninterrupted sweep: ${(base.ms / 1000).toFixed(1)} s, ${(work / 1000).toFixed(1)} s after start-up)`);
});

test.run();
