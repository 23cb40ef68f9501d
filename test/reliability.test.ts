// Reliability, in-process: run ids, resume, partial-row repair, checkpoints that resume bit for
// bit, failures (divergence, out of memory, unexpected errors, on_error), a disk that fills up
// mid-sweep, sharding and merging. Child-process tests (signals, shards in parallel) are in
// reliability_process.test.ts; kill -9 at random points in reliability_kill.test.ts.
import { execFileSync } from 'node:child_process';
import fs, { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { expandSweep, runId } from '../core/config/expand.ts';
import { PhiloxStream } from '../core/random/philox.ts';
import { parseResultsCsv } from '../core/results/writer.ts';
import { parseShard, shardDirName, shardRuns } from '../core/sweep/shard.ts';
import { describeError } from '../core/train/train.ts';
import { cli, tempDir, tinyExperiment } from './helpers.ts';

const TWO_BLOCKS = `    - token_embedding: {dim: $n_embd}
    - position_embedding: {}
    - repeat: 2
      layers:
        - block: {attention: {n_head: $n_head, dropout: $dropout}, feed_forward: {dropout: $dropout}}
    - layer_norm: {}
    - lm_head: {}`;

function experiment(extra = '', opts: { train?: string; model?: string } = {}): string {
  return tinyExperiment({
    name: 'rel', prefix: 'nanolab-rel-', extra, layers: opts.model ?? TWO_BLOCKS,
    train: opts.train ?? '{steps: 40, batch_size: 8, optimizer: {adamw: {lr: 3.0e-3}}, eval: {interval: 10, iters: 4}, checkpoint: {every: 7}}',
  });
}

/** A model that really diverges at lr 10: no normalisation anywhere, no clipping, no decay. */
const UNSTABLE_MODEL = `    - token_embedding: {dim: $n_embd}
    - position_embedding: {}
    - repeat: 4
      layers:
        - block: {attention: {n_head: $n_head}, norm: none}
    - lm_head: {}`;

const rows = (dir: string) => parse(readFileSync(join(dir, 'results.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
const curve = (dir: string, id: string) => readFileSync(join(dir, 'curves', `${id}.csv`), 'utf8');
const TIMING = ['ms_per_step_median', 'ms_per_step_p95', 'tokens_per_s', 'train_s', 'eval_s', 'wall_s'];
const numbers = (r: Record<string, string>) => Object.fromEntries(Object.entries(r).filter(([k]) => !TIMING.includes(k)));

// --- run ids -----------------------------------------------------------------------------------

test('run ids change with anything that affects the numbers, and only with that', () => {
  const base = {
    name: 'x', data: { path: 'a.txt' }, seed: 1,
    model: { vars: { n_embd: 32, n_head: 4, block_size: 8, dropout: 0.1 }, layers: [{ token_embedding: { dim: '$n_embd' } }, { lm_head: {} }] },
    train: { steps: 10, batch_size: 4, optimizer: { adamw: { lr: 1e-3 } }, eval: { interval: 5, iters: 2 } },
  };
  const id = (mut: (c: any) => void) => { const c = structuredClone(base); mut(c); return runId(expandSweep(c).runs[0].config); };
  const a = id(() => {});
  const changes: [string, (c: any) => void][] = [
    ['steps', (c) => { c.train.steps = 11; }], ['batch', (c) => { c.train.batch_size = 8; }], ['lr', (c) => { c.train.optimizer.adamw.lr = 2e-3; }],
    ['seed', (c) => { c.seed = 2; }], ['data', (c) => { c.data.path = 'b.txt'; }], ['n_embd', (c) => { c.model.vars.n_embd = 64; }],
    ['dropout', (c) => { c.model.vars.dropout = 0.2; }], ['layer', (c) => { c.model.layers.splice(1, 0, { layer_norm: {} }); }],
    ['eval', (c) => { c.train.eval.iters = 3; }], ['device', (c) => { c.device = 'gpu'; }], ['tokenizer', (c) => { c.tokenizer = 'bpe'; }],
  ];
  const seen = new Set([a]);
  for (const [what, mut] of changes) {
    const b = id(mut);
    assert.is.not(b, a, `${what} must change the run id`);
    assert.not.ok(seen.has(b), `${what}: collides with another change`);
    seen.add(b);
  }
  for (const [what, mut] of [['name', (c: any) => { c.name = 'y'; }], ['description', (c: any) => { c.description = 'z'; }],
    ['output', (c: any) => { c.output = { dir: 'elsewhere', sample_chars: 9 }; }], ['on_error', (c: any) => { c.on_error = 'stop'; }],
    ['checkpoint', (c: any) => { c.train.checkpoint = { every: 3 }; }]] as const) {
    assert.is(id(mut), a, `${what} must not change the run id`);
  }
});

// --- results.csv repair ------------------------------------------------------------------------

test('parseResultsCsv keeps only complete rows', () => {
  const head = 'run_id,run,status,error\n';
  assert.equal(parseResultsCsv(`${head}a,x,ok,\nb,y,ok,`).rows.map((r) => r.run_id), ['a'], 'a line without its newline is partial');
  assert.equal(parseResultsCsv(`${head}a,x,ok,\nb,y\n`).rows.map((r) => r.run_id), ['a'], 'a row with too few values');
  assert.equal(parseResultsCsv(`${head}a,x,ok,\nb,y,error,"half a quoted\n`).rows.map((r) => r.run_id), ['a'], 'an unterminated quote');
  assert.equal(parseResultsCsv(`${head}a,x,error,"two\nlines"\n`).rows.map((r) => r.error), ['two\nlines'], 'quoted newlines are fine');
  assert.equal(parseResultsCsv('run_id,ru').rows, []);
  assert.equal(parseResultsCsv('').rows, []);
});

test('a results.csv with a partial last row (crash mid-append) is repaired on rerun, atomically', async () => {
  const file = experiment('sweep: {seeds: [1, 2]}');
  const out = join(tempDir(), 'out');
  assert.is((await cli([file, '--out', out, '--quiet', '--steps', '5'])).code, 0);
  const full = readFileSync(join(out, 'results.csv'), 'utf8');
  const [first, second] = rows(out);
  // keep the header, the first row, and half of the second one
  const lines = full.split('\n');
  writeFileSync(join(out, 'results.csv'), `${lines[0]}\n${lines[1]}\n${lines[2].slice(0, 25)}`);
  const r = await cli([file, '--out', out, '--steps', '5']);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /1 of 2 runs already done/);
  const after = rows(out);
  assert.equal(after.map((x) => x.run_id), [first.run_id, second.run_id]);
  assert.equal(numbers(after[1]), numbers(second), 'the redone run has the same numbers');
  assert.ok(readFileSync(join(out, 'results.csv'), 'utf8').endsWith('\n'));
  assert.equal(readdirSync(out).filter((f) => f.includes('.tmp-')), [], 'no temporary files left');
});

test('stale temporary files of a killed writer are cleaned up; live ones are left alone', async () => {
  const file = experiment();
  const out = join(tempDir(), 'out');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'results.csv.tmp-999999999'), 'half');
  writeFileSync(join(out, `results.md.tmp-${process.ppid}`), 'someone else, alive');
  assert.is((await cli([file, '--out', out, '--quiet', '--steps', '3'])).code, 0);
  assert.not.ok(existsSync(join(out, 'results.csv.tmp-999999999')));
  assert.ok(existsSync(join(out, `results.md.tmp-${process.ppid}`)));
});

// --- checkpoints -------------------------------------------------------------------------------

test('random streams save and restore their position exactly', () => {
  const a = new PhiloxStream(42, 7);
  for (let i = 0; i < 13; i++) a.nextU32();
  a.normal(); // leaves a spare normal
  const s = a.getState();
  const b = new PhiloxStream(42, 7);
  b.setState(JSON.parse(JSON.stringify(s)));
  for (let i = 0; i < 50; i++) assert.is(b.nextU32(), a.nextU32());
  assert.is(b.normal(), a.normal());
  assert.is(b.int(1000), a.int(1000));
  assert.throws(() => b.setState({ block: -1, pos: 0, spareNormal: null }));
});

test('an interrupted run resumes from its checkpoint and gives exactly the same curve', async () => {
  const file = experiment();
  const ref = join(tempDir(), 'ref'), out = join(tempDir(), 'out');
  assert.is((await cli([file, '--out', ref, '--quiet'])).code, 0);
  const [want] = rows(ref);
  assert.not.ok(existsSync(join(ref, 'checkpoints', `${want.run_id}.json`)), 'a finished run leaves no checkpoint');

  // stop after 23 steps: the periodic checkpoint is at 21, the interruption saves one at 23
  let r = await cli([file, '--out', out, '--quiet'], { interruptAfter: 23 });
  assert.is(r.code, 130);
  assert.is(rows(out)[0].status, 'interrupted');
  const ck = JSON.parse(readFileSync(join(out, 'checkpoints', `${want.run_id}.json`), 'utf8'));
  assert.is(ck.step, 23);
  r = await cli([file, '--out', out]);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /rel: ok \(resumed from the checkpoint at step 23\)/);
  const [got] = rows(out);
  assert.is(curve(out, got.run_id), curve(ref, want.run_id), 'the resumed curve differs');
  assert.equal(numbers(got), numbers(want));
  assert.is(readFileSync(join(out, 'samples.md'), 'utf8'), readFileSync(join(ref, 'samples.md'), 'utf8'));
  assert.not.ok(existsSync(join(out, 'checkpoints', `${want.run_id}.json`)));
});

test('a periodic checkpoint (no interruption save) also resumes exactly; a damaged one is ignored', async () => {
  const file = experiment();
  const ref = join(tempDir(), 'ref');
  assert.is((await cli([file, '--out', ref, '--quiet'])).code, 0);
  const [want] = rows(ref);
  for (const damage of [false, true]) {
    const out = join(tempDir(), 'out');
    assert.is((await cli([file, '--out', out, '--quiet'], { interruptAfter: 30 })).code, 130);
    const base = join(out, 'checkpoints', want.run_id);
    const ck = JSON.parse(readFileSync(`${base}.json`, 'utf8'));
    assert.is(ck.step, 30);
    // make it look like a kill -9 right after the periodic checkpoint at step 28
    const ref28 = join(tempDir(), 'ref28');
    assert.is((await cli([file, '--out', ref28, '--quiet'], { interruptAfter: 28 })).code, 130);
    for (const ext of ['bin', 'json']) writeFileSync(`${base}.${ext}`, readFileSync(join(ref28, 'checkpoints', `${want.run_id}.${ext}`)));
    if (damage) { const b = readFileSync(`${base}.bin`); b[100] ^= 0xff; writeFileSync(`${base}.bin`, b); }
    const r = await cli([file, '--out', out, '--quiet']);
    assert.is(r.code, 0, r.err);
    if (damage) assert.match(r.err, /ignoring the checkpoint .* does not match its description.*starting over/);
    else assert.is(r.err, '');
    assert.is(curve(out, want.run_id), curve(ref, want.run_id), `resumed curve differs (damaged: ${damage})`);
  }
});

test('--force ignores and replaces a checkpoint', async () => {
  const file = experiment();
  const out = join(tempDir(), 'out'), ref = join(tempDir(), 'ref');
  assert.is((await cli([file, '--out', ref, '--quiet'])).code, 0);
  assert.is((await cli([file, '--out', out, '--quiet'], { interruptAfter: 15 })).code, 130);
  const r = await cli([file, '--out', out, '--quiet', '--force']);
  assert.is(r.code, 0);
  const [got] = rows(out);
  assert.is(curve(out, got.run_id), curve(ref, got.run_id));
});

// --- failures ----------------------------------------------------------------------------------

const sweepWithDivergence = (extra = '') => experiment(`sweep: {grid: {train.optimizer.adamw.lr: [10, 0.003]}}\n${extra}`, {
  model: UNSTABLE_MODEL, train: '{steps: 30, batch_size: 8, optimizer: {adamw: {lr: 0.003, weight_decay: 0}}, eval: {interval: 10, iters: 2}}',
});

test('a diverging run (lr 10, no norm, no clipping) gets a diverged row and the sweep goes on', async () => {
  const file = sweepWithDivergence();
  const out = join(tempDir(), 'out');
  const r = await cli([file, '--out', out]);
  assert.is(r.code, 1, 'exit 1: a run failed');
  const [bad, good] = rows(out);
  assert.is(bad.status, 'diverged');
  assert.match(bad.error, /^loss became (NaN|Infinity|-Infinity) at step \d+$/);
  assert.ok(Number(bad.steps) < 30);
  assert.is(good.status, 'ok');
  assert.not.match(r.out + r.err, /\n\s+at /, 'no stack trace');
  // diverged is a finished outcome: a rerun does not repeat it
  const again = await cli([file, '--out', out]);
  assert.match(again.out, /2 of 2 runs already done/);
});

test('on_error: stop ends the sweep at the first failed run', async () => {
  const file = sweepWithDivergence('on_error: stop');
  const out = join(tempDir(), 'out');
  const r = await cli([file, '--out', out, '--quiet']);
  assert.is(r.code, 1);
  assert.equal(rows(out).map((x) => x.status), ['diverged']);
  assert.match(r.err, /on_error: stop: 1 run not started/);
  assert.is(JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8')).status, 'stopped after a failed run');
});

test('a run that runs out of memory gets an error row and a log; the next run still runs', async () => {
  // a batch whose activations cannot be allocated (8M x 65536 floats): fails at the first forward pass
  const file = experiment('sweep: {grid: {train.batch_size: [1000000, 4]}}', {
    model: '    - token_embedding: {dim: 65536}\n    - lm_head: {}',
    train: '{steps: 3, batch_size: 4, eval: {interval: 10, iters: 1}}',
  });
  const out = join(tempDir(), 'out');
  const r = await cli([file, '--out', out, '--quiet']);
  assert.is(r.code, 1);
  const [oom, ok] = rows(out);
  assert.is(oom.status, 'error');
  assert.match(oom.error, /^out of memory \(.*\): reduce batch_size, block_size or the model's size$/);
  assert.is(ok.status, 'ok');
  assert.match(r.err, new RegExp(`^nanolab: run train.batch_size=1000000 \\(${oom.run_id}\\) failed: out of memory`));
  assert.not.match(r.err, /full log/, 'an anticipated failure needs no log pointer');
  assert.not.match(r.err, /\n\s+at /);
  assert.match(readFileSync(join(out, 'logs', `${oom.run_id}.log`), 'utf8'), /RangeError[\s\S]*\n\s+at /, 'the log has the stack');
});

test('an unexpected error: error row, one line with the run id and a full log, sweep goes on', async () => {
  const file = experiment('sweep: {seeds: [1, 2]}', { train: '{steps: 6, batch_size: 4, eval: {interval: 10, iters: 1}}' });
  const out = join(tempDir(), 'out');
  let calls = 0, err = '', stdout = '';
  const { run } = await import('../core/run.ts');
  const code = await run([file, '--out', out, '--quiet'], {
    out: (s) => { stdout += s; }, err: (s) => { err += s; }, isTTY: false, cwd: process.cwd(),
    // the hook is called inside the training loop: throwing there is a bug in the middle of a run
    interrupted: () => { if (++calls === 3) throw new TypeError('boom: something nobody expected'); return false; },
  });
  assert.is(code, 1);
  const [bad, good] = rows(out);
  assert.is(bad.status, 'error');
  assert.is(bad.error, 'boom: something nobody expected');
  assert.is(good.status, 'ok');
  const log = join(out, 'logs', `${bad.run_id}.log`);
  assert.is(err.trim(), `nanolab: run seed=1 (${bad.run_id}) failed: boom: something nobody expected; full log: ${log}`);
  assert.match(readFileSync(log, 'utf8'), /TypeError: boom[\s\S]*\n\s+at /);
  assert.not.match(stdout, /\n\s+at /);
  // error rows are not finished: a rerun tries again
  const again = await cli([file, '--out', out, '--quiet']);
  assert.is(again.code, 0);
  assert.equal(rows(out).map((x) => x.status), ['ok', 'ok']);
});

test('describeError: out-of-memory messages are anticipated, others are not', () => {
  for (const m of ['Array buffer allocation failed', 'Invalid typed array length: 8000000000', 'std::bad_alloc', 'CUDA error: out of memory']) {
    assert.not.ok(describeError(new RangeError(m)).unexpected, m);
  }
  assert.ok(describeError(new TypeError('x is undefined')).unexpected);
  assert.is(describeError('a string').message, 'a string');
});

// --- a disk that fills up mid-sweep ------------------------------------------------------------

test('the disk fills up mid-sweep: one line, exit 1, results.csv still complete', async () => {
  const file = experiment('sweep: {seeds: [1, 2, 3]}', { train: '{steps: 8, batch_size: 4, eval: {interval: 10, iters: 1}}' });
  const disk = join(tempDir(), 'disk');
  mkdirSync(disk);
  let mounted = false;
  // NANOLAB_TEST_NO_MOUNT=1 exercises the simulation that runs where mounting is not allowed
  if (process.env.NANOLAB_TEST_NO_MOUNT !== '1') {
    try { execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', disk], { stdio: 'ignore' }); mounted = true; } catch { /* not root */ }
  }
  const out = join(disk, 'out');
  const { run } = await import('../core/run.ts');
  let calls = 0, err = '';
  const realWrite = fs.writeFileSync;
  const fill = () => {
    if (mounted) {
      // take every free byte (a few KiB may stay; the curve and row writes need more than that)
      try { for (let i = 0; ; i++) realWrite(join(disk, `filler-${i}`), Buffer.alloc(64 * 1024)); } catch { /* full */ }
      try { for (let i = 0; ; i++) realWrite(join(disk, `small-${i}`), Buffer.alloc(512)); } catch { /* full */ }
    } else {
      // simulate ENOSPC for every later write into the output directory
      (fs as any).writeFileSync = (p: any, ...rest: any[]) => {
        if (String(p).startsWith(out)) throw Object.assign(new Error(`ENOSPC: no space left on device, open '${p}'`), { code: 'ENOSPC', syscall: 'open', path: String(p) });
        return (realWrite as any)(p, ...rest);
      };
      syncBuiltinESMExports();
    }
  };
  try {
    const code = await run([file, '--out', out, '--quiet'], {
      out: () => {}, err: (s) => { err += s; }, isTTY: false, cwd: process.cwd(),
      interrupted: () => { if (++calls === 12) fill(); return false; }, // during the second run
    });
    assert.is(code, 1);
    assert.match(err.trim(), /^nanolab: cannot write .*out\/.*: no space left on device; the rows finished before it are saved$/);
    assert.is(err.trim().split('\n').length, 1);
    const text = readFileSync(join(out, 'results.csv'), 'utf8');
    const got = parseResultsCsv(text);
    assert.is(got.dropped, 0, 'no partial row');
    assert.equal(got.rows.map((r) => r.status), ['ok'], 'the first run is saved, whole');
    assert.equal(readdirSync(out).filter((f) => f.includes('.tmp-')), [], 'no temporary files left');
  } finally {
    (fs as any).writeFileSync = realWrite;
    syncBuiltinESMExports();
    if (mounted) execFileSync('umount', [disk]);
  }
});

// --- sharding and merging (in-process; the multi-process version is in reliability_process) ---

test('--shard parsing: explicit, Slurm and Kubernetes indices, and errors', () => {
  assert.equal(parseShard('1/3', {}), { index: 1, count: 3, from: '--shard' });
  assert.equal(parseShard('auto/4', { SLURM_ARRAY_TASK_ID: '2' }), { index: 2, count: 4, from: 'SLURM_ARRAY_TASK_ID=2' });
  assert.is((parseShard('auto/4', { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_MIN: '1' }) as any).index, 2, '--array=1-4 works too');
  assert.is((parseShard('auto/4', { JOB_COMPLETION_INDEX: '3' }) as any).index, 3);
  assert.match(parseShard('auto/4', {}) as string, /neither is set/);
  assert.match(parseShard('auto/4', { SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_COUNT: '5' }) as string, /has 5 tasks/);
  assert.match(parseShard('3/3', {}) as string, /out of range/);
  assert.match(parseShard('auto/3', { JOB_COMPLETION_INDEX: '7' }) as string, /out of range.*JOB_COMPLETION_INDEX=7/);
  for (const bad of ['1', '1/0', '-1/3', 'a/b', '1/3/4', '']) assert.type(parseShard(bad, {}), 'string', bad);
  const runs = Array.from({ length: 7 }, (_, i) => ({ index: i + 1 }));
  const parts = [0, 1, 2].map((i) => shardRuns(runs, { index: i, count: 3 }).map((r) => r.index));
  assert.equal(parts, [[1, 4, 7], [2, 5], [3, 6]]);
  assert.is(shardDirName({ index: 2, count: 3 }), 'shard-2-of-3');
});

test('merge: one row per run_id (ok first, then the latest), in run order, with curves and samples', async () => {
  const file = experiment('sweep: {seeds: [1, 2, 3, 4]}', { train: '{steps: 4, batch_size: 4, eval: {interval: 10, iters: 1}}' });
  const base = join(tempDir(), 'sharded');
  for (const i of [0, 1]) assert.is((await cli([file, '--out', base, '--quiet', '--shard', `${i}/2`])).code, 0);
  // a stale failed copy of seed=1 in a third directory must not win over shard 0's ok row
  const stale = join(tempDir(), 'stale');
  assert.is((await cli([file, '--out', stale, '--quiet', '--only', 'seed=1'], { interruptAfter: 1 })).code, 130);
  const whole = join(tempDir(), 'whole');
  assert.is((await cli([file, '--out', whole, '--quiet'])).code, 0);
  const merged = join(tempDir(), 'merged');
  const r = await cli(['merge', join(base, 'shard-1-of-2'), stale, join(base, 'shard-0-of-2'), '--out', merged]);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /merged 4 runs from 3 directories \(1 duplicate row dropped\)/);
  assert.equal(rows(merged).map(numbers), rows(whole).map(numbers));
  for (const row of rows(whole)) assert.is(curve(merged, row.run_id), curve(whole, row.run_id));
  assert.is(readFileSync(join(merged, 'samples.md'), 'utf8'), readFileSync(join(whole, 'samples.md'), 'utf8'));
  const meta = JSON.parse(readFileSync(join(merged, 'meta.json'), 'utf8'));
  assert.is(meta.status, 'complete');
  assert.is(meta.merged_from.length, 3);
  assert.ok(existsSync(join(merged, 'report.html')), 'the report is written when core/report exists');
  // merging is idempotent, and a missing shard is reported
  const partial = join(tempDir(), 'partial');
  const p = await cli(['merge', join(base, 'shard-1-of-2'), '--out', partial]);
  assert.is(p.code, 0);
  assert.match(p.err, /2 of 4 runs have no row yet/);
  assert.is(JSON.parse(readFileSync(join(partial, 'meta.json'), 'utf8')).status, 'incomplete');
  // bad usage
  assert.is((await cli(['merge', '--out', merged])).code, 2);
  assert.is((await cli(['merge', tempDir(), '--out', merged])).code, 2);
  assert.is((await cli(['merge', whole, '--out', '/etc/passwd/x'])).code, 2);
});

test.run();
