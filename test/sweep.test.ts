import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { expandSweep, parsePathString, runId } from '../core/config/expand.ts';

const base = {
  name: 'x',
  model: { vars: { n_embd: 32, n_head: 4, block_size: 8, residual: false }, layers: [{ token_embedding: { dim: '$n_embd' } }, { lm_head: {} }] as Record<string, any>[] },
  train: { steps: 10, batch_size: 4 },
};

test('ladder x grid x zip x seeds x devices: counts and names', () => {
  const raw = {
    ...base,
    sweep: {
      ladder: [{ a: {} }, { b: { residual: true } }, { c: { 'vars.n_head': 2 } }],
      grid: { n_embd: [16, 32], 'train.batch_size': [4, 8, 16] },
      zip: { n_head: [1, 2], 'train.steps': [5, 6] },
      seeds: [1, 2],
      devices: ['cpu', 'gpu'],
    },
  };
  const e = expandSweep(raw);
  assert.equal(e.issues, []);
  assert.is(e.runs.length, 3 * 2 * 3 * 2 * 2 * 2);
  assert.equal(e.axisNames, ['n_embd', 'train.batch_size', 'n_head', 'train.steps']);
  assert.is(e.runs[0].name, 'a/n_embd=16/train.batch_size=4/n_head=1/train.steps=5/cpu/seed=1');
  assert.is(e.runs[e.runs.length - 1].name, 'c/n_embd=32/train.batch_size=16/n_head=2/train.steps=6/gpu/seed=2');
  const names = new Set(e.runs.map((r) => r.name));
  assert.is(names.size, e.runs.length, 'run names are unique');
});

test('ladder patches are cumulative and variables are substituted', () => {
  const e = expandSweep({ ...base, sweep: { ladder: [{ a: {} }, { b: { residual: true } }, { c: { n_embd: 64 } }] } });
  const [a, b, c] = e.runs.map((r) => r.config);
  assert.is(a.model.vars.residual, false);
  assert.is(b.model.vars.residual, true);
  assert.is(c.model.vars.residual, true, 'rung c keeps rung b\'s patch');
  assert.is(c.model.layers[0].token_embedding.dim, 64);
  assert.is(a.model.layers[0].token_embedding.dim, 32);
  assert.is(base.model.layers[0].token_embedding.dim, '$n_embd', 'the input is not mutated');
});

test('grid axes take dotted paths, vars.x and bare variable names', () => {
  const e = expandSweep({ ...base, sweep: { grid: { 'train.batch_size': [2], 'vars.n_head': [8], n_embd: [48] } } });
  const cfg = e.runs[0].config;
  assert.is(cfg.train.batch_size, 2);
  assert.is(cfg.model.vars.n_head, 8);
  assert.is(cfg.model.layers[0].token_embedding.dim, 48);
});

test('seeds alone: one run per seed, named by seed', () => {
  const e = expandSweep({ ...base, sweep: { seeds: [7, 8, 9] } });
  assert.equal(e.runs.map((r) => r.name), ['seed=7', 'seed=8', 'seed=9']);
  assert.equal(e.runs.map((r) => r.config.seed), [7, 8, 9]);
});

test('--steps and --device overrides apply to every run', () => {
  const e = expandSweep({ ...base, sweep: { devices: ['cpu', 'gpu'], seeds: [1, 2] } }, { steps: 3, device: 'cpu' });
  assert.is(e.runs.length, 2, 'the device axis collapses to the override');
  assert.ok(e.runs.every((r) => r.config.train.steps === 3 && r.config.device === 'cpu'));
});

test('run ids: stable, and changed by anything that affects the numbers', () => {
  const a = expandSweep(base).runs[0].config;
  const b = expandSweep(structuredClone(base)).runs[0].config;
  assert.is(runId(a), runId(b));
  assert.match(runId(a), /^[0-9a-f]{12}$/);
  const c = expandSweep({ ...base, train: { steps: 11, batch_size: 4 } }).runs[0].config;
  assert.is.not(runId(a), runId(c));
  const d = expandSweep({ ...base, name: 'renamed', description: 'words' }).runs[0].config;
  assert.is(runId(a), runId(d), 'name and description do not change the id');
});

test('path strings', () => {
  assert.equal(parsePathString('model.layers[2].block.norm'), ['model', 'layers', 2, 'block', 'norm']);
  assert.equal(parsePathString('n_head'), ['n_head']);
});

test.run();
