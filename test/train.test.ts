import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, tempDir, tinyExperiment } from './helpers.ts';

// A tiny transformer on Tiny-Shakespeare-like text that fits in a test: 2 layers, 16 wide.
function experiment(extra = ''): string {
  return tinyExperiment({
    name: 'tiny-train', sampleChars: 30, extra,
    layers: `    - token_embedding: {dim: $n_embd}
    - position_embedding: {}
    - repeat: 2
      layers:
        - block: {attention: {n_head: $n_head, dropout: $dropout}, feed_forward: {dropout: $dropout}}
    - layer_norm: {}
    - lm_head: {}`,
    train: '{steps: 60, batch_size: 8, optimizer: {adamw: {lr: 3.0e-3}}, eval: {interval: 20, iters: 4}}',
  });
}

const rows = (dir: string) => parse(readFileSync(join(dir, 'results.csv'), 'utf8'), { columns: true }) as Record<string, string>[];

test('a run writes every output file with real numbers, and the loss goes down', async () => {
  const out = join(tempDir(), 'out');
  const r = await cli([experiment(), '--out', out, '--quiet']);
  assert.is(r.code, 0, r.err);
  for (const f of ['results.csv', 'results.md', 'samples.md', 'meta.json', 'experiment.yaml']) assert.ok(existsSync(join(out, f)), f);
  const [row] = rows(out);
  assert.equal(Object.keys(row), ['run_id', 'experiment', 'run', 'rung', 'seed', 'device', 'backend', 'precision', 'params', 'steps', 'train_loss',
    'val_loss', 'best_val_loss', 'ms_per_step_median', 'ms_per_step_p95', 'tokens_per_s', 'train_s', 'eval_s', 'wall_s', 'status', 'error']);
  assert.is(row.status, 'ok');
  assert.is(row.steps, '60');
  assert.match(row.run_id, /^[0-9a-f]{12}$/);
  assert.ok(Number(row.ms_per_step_median) > 0 && Number(row.ms_per_step_p95) >= Number(row.ms_per_step_median));
  assert.ok(Number(row.tokens_per_s) > 0);
  const curve = parse(readFileSync(join(out, 'curves', `${row.run_id}.csv`), 'utf8'), { columns: true }) as Record<string, string>[];
  assert.equal(curve.map((c) => c.step), ['0', '20', '40', '60']);
  const first = Number(curve[0].train_loss), last = Number(curve[3].train_loss);
  assert.ok(last < first - 0.5, `train loss ${first} -> ${last}`);
  assert.ok(Number(row.val_loss) < Number(curve[0].val_loss));
  assert.is(Number(row.best_val_loss), Math.min(...curve.map((c) => Number(Number(c.val_loss).toFixed(4)))));
  const md = readFileSync(join(out, 'results.md'), 'utf8');
  assert.match(md, new RegExp(`\\| ${row.run_id} \\| tiny-train \\|`));
  const samples = readFileSync(join(out, 'samples.md'), 'utf8');
  assert.match(samples, /## tiny-train/);
  const meta = JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8'));
  assert.is(meta.node, process.version);
  assert.is(meta.status, 'complete');
  assert.ok(meta.cpu && meta.packages['@tensorflow/tfjs-core']);
});

test('same seed, same backend: the same losses bit for bit; another seed differs', async () => {
  const file = experiment('sweep: {seeds: [11, 12]}');
  const a = join(tempDir(), 'a'), b = join(tempDir(), 'b');
  assert.is((await cli([file, '--out', a, '--quiet'])).code, 0);
  assert.is((await cli([file, '--out', b, '--quiet', '--force'])).code, 0);
  const ra = rows(a), rb = rows(b);
  const curves = (dir: string, id: string) => readFileSync(join(dir, 'curves', `${id}.csv`), 'utf8');
  for (let i = 0; i < 2; i++) {
    assert.is(ra[i].run_id, rb[i].run_id);
    assert.is(curves(a, ra[i].run_id), curves(b, rb[i].run_id), 'curves differ between identical runs');
  }
  assert.is.not(curves(a, ra[0].run_id), curves(a, ra[1].run_id), 'different seeds gave identical curves');
  assert.is(readFileSync(join(a, 'samples.md'), 'utf8'), readFileSync(join(b, 'samples.md'), 'utf8'));
});

test('a rerun skips finished runs; --only filters; rows are appended', async () => {
  const file = experiment('sweep: {grid: {n_head: [1, 2]}}');
  const out = join(tempDir(), 'out');
  let r = await cli([file, '--out', out, '--only', 'n_head=1', '--steps', '5']);
  assert.is(r.code, 0, r.err);
  assert.equal(rows(out).map((x) => x.run), ['n_head=1']);
  assert.ok('n_head' in rows(out)[0], 'one column per swept axis');
  r = await cli([file, '--out', out, '--steps', '5']);
  assert.is(r.code, 0);
  assert.match(r.out, /1 of 2 runs already done/);
  assert.equal(rows(out).map((x) => x.run), ['n_head=1', 'n_head=2']);
  assert.is(readdirSync(join(out, 'curves')).length, 2);
});

test('an interrupted run is recorded as interrupted with its partial metrics, exit 130', async () => {
  const out = join(tempDir(), 'out');
  const r = await cli([experiment(), '--out', out, '--quiet'], { interruptAfter: 30 });
  assert.is(r.code, 130);
  const [row] = rows(out);
  assert.is(row.status, 'interrupted');
  assert.ok(Number(row.steps) > 0 && Number(row.steps) < 60, `steps ${row.steps}`);
  assert.ok(row.val_loss !== '');
});

test('editing the corpus changes the run ids; moving it does not', async () => {
  const file = experiment();
  const dir = file.slice(0, file.lastIndexOf('/'));
  const ids = async () => (await cli([file, '--dry-run', '--no-estimate'])).out.split('\n')[2].split(/\s+/)[1];
  const before = await ids();
  assert.match(before, /^[0-9a-f]{12}$/);
  writeFileSync(join(dir, 'text.txt'), readFileSync(join(dir, 'text.txt'), 'utf8').replace('Speak', 'Shout'));
  const edited = await ids();
  assert.is.not(edited, before);
  writeFileSync(join(dir, 'moved.txt'), readFileSync(join(dir, 'text.txt')));
  writeFileSync(file, readFileSync(file, 'utf8').replace('path: text.txt', 'path: moved.txt'));
  assert.is(await ids(), edited);
});

test('--dry-run prints the matrix and writes nothing', async () => {
  const out = join(tempDir(), 'out');
  const r = await cli([experiment('sweep: {grid: {n_head: [1, 2]}, seeds: [1, 2, 3]}'), '--out', out, '--dry-run']);
  assert.is(r.code, 0);
  assert.match(r.out, /tiny-train: 6 runs/);
  assert.match(r.out, /n_head=2\/seed=3/);
  assert.not.ok(existsSync(out));
});

test.run();
