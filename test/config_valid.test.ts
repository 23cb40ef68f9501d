import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generatedSchemaFiles } from '../core/config/schema_files.ts';
import { loadExperiment } from '../core/config/validate.ts';
import { cli } from './helpers.ts';

const experiments = readdirSync('experiments').filter((f) => f.endsWith('.yaml')).map((f) => `experiments/${f}`);

for (const file of [...experiments, 'test/fixtures/valid-tiny.yaml']) {
  test(`valid: ${file} passes --dry-run`, async () => {
    const r = await cli([file, '--dry-run', '--no-estimate', '--device', 'cpu']);
    assert.is(r.code, 0, r.err);
    assert.match(r.out, /run_id/);
  });
}

test('defaults are filled in from the schemas', () => {
  const exp = loadExperiment('test/fixtures/valid-tiny.yaml');
  const cfg = exp.runs[0].config;
  assert.is(cfg.train.optimizer.adamw.lr, 1e-3);
  assert.equal(cfg.train.optimizer.adamw.betas, [0.9, 0.999]);
  assert.is(cfg.train.optimizer.adamw.weight_decay, 0.01);
  assert.is(cfg.data.train_fraction, 0.9);
  assert.is(cfg.model.init, 'pytorch');
  assert.is(cfg.model.layers[2].block.norm, 'pre');
  assert.is(cfg.model.layers[2].block.feed_forward.mult, 4);
  assert.is(cfg.tokenizer, 'char');
  assert.is(cfg.seed, 1337);
});

test('schemas/ is generated from the registry and up to date (npm run schemas)', () => {
  for (const [path, content] of Object.entries(generatedSchemaFiles())) {
    assert.is(readFileSync(path, 'utf8'), content, `${path} is stale: run npm run schemas`);
  }
});

test('--list-layers prints every layer with its parameters', async () => {
  const r = await cli(['--list-layers']);
  assert.is(r.code, 0);
  for (const name of ['bigram', 'token_embedding', 'position_embedding', 'attention_head', 'multi_head_attention', 'feed_forward', 'layer_norm', 'dropout', 'block', 'repeat', 'lm_head']) {
    assert.match(r.out, new RegExp(`^${name}: `, 'm'));
  }
  assert.match(r.out, /n_head: integer \(required\)/);
});

test.run();
