import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '../core/tf.ts';
import { loadExperiment } from '../core/config/validate.ts';
import { buildModel } from '../core/model/build.ts';
import { generate } from '../core/train/train.ts';
import { charTokenizer } from '../core/tokenizers/char.ts';
import { PhiloxStream } from '../core/random/philox.ts';
import { tempDir } from './helpers.ts';

// Tiny Shakespeare's 65 characters, in a generated text (the corpus itself is not in the repo)
const SHAKESPEARE_CHARS = "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

function shakespeareLikeText(n: number): string {
  const rng = new PhiloxStream(7, 99);
  let s = SHAKESPEARE_CHARS;
  while (s.length < n) s += SHAKESPEARE_CHARS[rng.int(SHAKESPEARE_CHARS.length)];
  return s;
}

function withCorpus(experiment: string): string {
  const dir = tempDir();
  writeFileSync(join(dir, 'text.txt'), shakespeareLikeText(20000));
  const yaml = readFileSync(experiment, 'utf8').replace(/dataset: moby-dick.*$/m, 'path: text.txt');
  const file = join(dir, 'exp.yaml');
  writeFileSync(file, yaml);
  return file;
}

test('the 65-character text has exactly Tiny Shakespeare\'s vocabulary', () => {
  assert.is(charTokenizer(shakespeareLikeText(20000)).vocabSize, 65);
});

test('ladder parameter counts equal the PyTorch reference (ladder.py) exactly', () => {
  const exp = loadExperiment(withCorpus('experiments/ablation.yaml'));
  const counts = Object.fromEntries(exp.runs.map((r) => [r.rung, r.paramCount]));
  assert.equal(counts, {
    bigram: 4225, embed: 4225, position: 4481, head: 7553, multihead: 7553, feedforward: 8609, blocks: 16865,
    residual: 16865, projection: 41921, layernorm: 42369, dropout: 42369, no_position: 42113,
  });
});

test('the scale-up model has 10,788,929 parameters', () => {
  const exp = loadExperiment(withCorpus('experiments/scale-up.yaml'), { device: 'cpu' });
  assert.is(exp.runs[0].paramCount, 10788929);
});

function tinyModel(impl: 'batched' | 'heads', dropout = 0) {
  return buildModel([
    { token_embedding: { dim: 16 } }, { position_embedding: { kind: 'learned' } },
    { multi_head_attention: { n_head: 4, projection: true, dropout, causal: true, impl } },
    { lm_head: { bias: true, tie: false } },
  ], { vocabSize: 11, blockSize: 8, init: 'pytorch', seed: 5, dry: false });
}

test('attention heads one by one and batched compute the same function', () => {
  const a = tinyModel('batched'), b = tinyModel('heads');
  const idx = tf.tensor2d(Int32Array.from({ length: 24 }, (_, i) => (i * 7) % 11), [3, 8], 'int32');
  const fc = { training: false, seed: 1, nextCallId: () => 0 };
  const ya = a.forward(idx, fc).dataSync(), yb = b.forward(idx, fc).dataSync();
  let maxDiff = 0;
  for (let i = 0; i < ya.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ya[i] - yb[i]));
  assert.ok(maxDiff < 1e-5, `max difference ${maxDiff}`);
  assert.equal(a.params.map((p) => p.shape), b.params.map((p) => p.shape));
  a.dispose(); b.dispose();
});

test('causal: changing a later token never changes earlier logits', () => {
  const m = tinyModel('batched');
  const fc = { training: false, seed: 1, nextCallId: () => 0 };
  const base = Int32Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
  const changed = Int32Array.from([1, 2, 3, 4, 9, 9, 9, 9]);
  const ya = m.forward(tf.tensor2d(base, [1, 8], 'int32'), fc).arraySync() as number[][][];
  const yb = m.forward(tf.tensor2d(changed, [1, 8], 'int32'), fc).arraySync() as number[][][];
  for (let t = 0; t < 4; t++) assert.equal(ya[0][t], yb[0][t], `position ${t}`);
  assert.not.equal(ya[0][4], yb[0][4]);
  m.dispose();
});

test('sampling crops the context to block_size (positions beyond it are never indexed)', () => {
  const m = tinyModel('batched');
  const text = 'abcdefghij\n';
  const tok = charTokenizer(text);
  const corpus = { text, source: 'x', tokenizer: tok, train: tok.encode(text), val: tok.encode(text), sha256: '' };
  // a forward pass longer than block_size is an error, so an uncropped sampler would throw
  assert.throws(() => m.forward(tf.tensor2d(new Int32Array(9), [1, 9], 'int32'), { training: false, seed: 1, nextCallId: () => 0 }));
  const s = generate(m, corpus, 8, 40, 3);
  assert.is(s.length, 40);
  assert.is(generate(m, corpus, 8, 40, 3), s, 'same seed, same sample');
  m.dispose();
});

test('initialisation: PyTorch defaults (Linear uniform 1/sqrt(fan_in), Embedding N(0,1), LayerNorm 1/0)', () => {
  const m = buildModel([{ token_embedding: { dim: 64 } }, { layer_norm: { eps: 1e-5, enabled: true } }, { lm_head: { bias: true, tie: false } }],
    { vocabSize: 200, blockSize: 8, init: 'pytorch', seed: 3, dry: false });
  const [emb, g, b, w, bias] = m.params.map((p) => p.v!.dataSync() as Float32Array);
  const std = Math.sqrt(emb.reduce((a, x) => a + x * x, 0) / emb.length);
  assert.ok(Math.abs(std - 1) < 0.05, `embedding std ${std}`);
  assert.ok(g.every((x) => x === 1) && b.every((x) => x === 0));
  const bound = 1 / Math.sqrt(64);
  assert.ok(w.every((x) => Math.abs(x) <= bound) && Math.max(...w) > 0.9 * bound, 'Linear weights fill U(-1/8, 1/8)');
  assert.ok(bias.every((x) => Math.abs(x) <= bound));
  const g2 = buildModel([{ token_embedding: { dim: 64 } }, { lm_head: { bias: true, tie: false } }],
    { vocabSize: 200, blockSize: 8, init: 'gpt2', seed: 3, dry: false });
  const e2 = g2.params[0].v!.dataSync() as Float32Array;
  const std2 = Math.sqrt(e2.reduce((a, x) => a + x * x, 0) / e2.length);
  assert.ok(Math.abs(std2 - 0.02) < 0.002, `gpt2 std ${std2}`);
  m.dispose(); g2.dispose();
});

test('weight tying: lm_head reuses the token embedding (fewer parameters)', () => {
  const spec = (tie: boolean) => [{ token_embedding: { dim: 16 } }, { lm_head: { bias: false, tie } }];
  const opts = { vocabSize: 50, blockSize: 8, init: 'gpt2' as const, seed: 1, dry: true };
  assert.is(buildModel(spec(false), opts).paramCount, 50 * 16 * 2);
  assert.is(buildModel(spec(true), opts).paramCount, 50 * 16);
});

test.run();
