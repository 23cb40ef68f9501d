// Property-based fuzzing of the loader and the validator (fast-check): whatever the input (random
// YAML-ish text, random bytes, mutations of valid experiment files, random JSON values, valid
// experiments with a subtree replaced by a random value), loading either succeeds or throws a
// ConfigError whose problems are all located (line >= 1, col >= 1) with a message. Never another
// exception, never a slow path: each input must be handled in well under a second, and each
// property stops after a few seconds (bounded runs and time, so CI stays under 20 s).
// FUZZ_SEED=n replays a seed; FUZZ_RUNS=n runs longer locally.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import YAML from 'yaml';
import { ConfigError } from '../core/config/errors.ts';
import { parseSource } from '../core/config/source.ts';
import { loadExperiment, validateExperiment } from '../core/config/validate.ts';
import { deviceProblem } from '../core/backend.ts';
import { tempDir } from './helpers.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20240917);
const RUNS = Number(process.env.FUZZ_RUNS ?? 0); // 0: the defaults below
const PER_INPUT_MS = 3000; // a hang detector, generous for loaded CI machines
const params = (numRuns: number, ms: number) => ({ seed: SEED, numRuns: RUNS || numRuns, interruptAfterTimeLimit: RUNS ? 10 * 60_000 : ms, endOnFailure: true, includeErrorInReport: true });

const dir = tempDir('nanolab-fuzz-');
writeFileSync(join(dir, 'text.txt'), 'It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.\n'.repeat(8));
const FILE = join(dir, 'fuzz.yaml');
const check = { checkDevice: deviceProblem({ cpu: { name: 'native', precisions: ['fp32'] }, gpu: null }) };

const VALID = `name: tiny
data: {path: text.txt}
model:
  vars: {n_embd: 16, n_head: 2, block_size: 8, dropout: 0.1}
  layers:
    - token_embedding: {dim: $n_embd}
    - position_embedding: {}
    - repeat: 2
      layers:
        - block: {attention: {n_head: $n_head, dropout: $dropout}, feed_forward: {dropout: $dropout}}
    - layer_norm: {}
    - lm_head: {}
train: {steps: 5, batch_size: 4, eval: {interval: 5, iters: 2}, checkpoint: {every: 2}}
sweep:
  ladder:
    - small: {}
    - wide: {n_embd: 32}
  grid: {train.batch_size: [2, 4]}
  seeds: [1, 2]
on_error: continue
`;
// the shipped experiments too, with their corpus swapped for the small one (speed)
const SEEDS = [VALID, ...['ablation-quick'].map((n) => readFileSync(`experiments/${n}.yaml`, 'utf8').replace(/dataset: moby-dick/, 'path: text.txt'))];

let handled = 0, valid = 0, slowest = 0;

/** The property: loads, or a ConfigError with located problems; nothing else, and quickly. */
function loads(run: () => unknown): void {
  const t0 = performance.now();
  try {
    run();
    valid++;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw new Error(`not a ConfigError: ${(e as Error)?.stack ?? e}`);
    if (!e.problems.length) throw new Error('a ConfigError without problems');
    for (const p of e.problems) {
      if (!(Number.isInteger(p.line) && p.line >= 1 && Number.isInteger(p.col) && p.col >= 1)) throw new Error(`unlocated problem ${JSON.stringify(p)}`);
      if (typeof p.message !== 'string' || !p.message.trim()) throw new Error(`problem without a message ${JSON.stringify(p)}`);
    }
  }
  const ms = performance.now() - t0;
  slowest = Math.max(slowest, ms);
  if (ms > PER_INPUT_MS) throw new Error(`took ${ms.toFixed(0)} ms`);
  handled++;
}

const fromText = (text: string) => loads(() => { const { source, value } = parseSource(FILE, text); return validateExperiment(source, value as any, check); });
const fromFile = (bytes: Uint8Array | string) => loads(() => { writeFileSync(FILE, bytes); return loadExperiment(FILE, check); });

const TOKENS = ['name', 'model', 'train', 'layers', 'vars', 'sweep', 'ladder', 'grid', 'zip', 'vary', 'seeds', 'devices', 'data', 'path', 'dataset',
  'token_embedding', 'lm_head', 'block', 'repeat', 'n_embd', '$n_embd', '$nope', 'block_size', 'steps', 'batch_size', 'checkpoint', 'every',
  'on_error', 'stop', 'cpu', 'gpu', ':', ': ', '- ', '-', '[', ']', '{', '}', ',', '&a ', '*a', '&b ', '*b', '<<: *a', '!!str ', '!!binary ',
  '!custom ', '? ', '|', '>', '# c', '"', "'", '\\', '\n', '\n  ', '\n    ', '  ', '\t', '---', '...', '%YAML 1.2\n', '~', 'null', 'true', 'no',
  '0', '-1', '8', '1e400', '-1e400', '.inf', '.nan', '0x1F', '0o17', '1_000', '2**60', '9007199254740993', '1.5', '\u00e9', '\u{1F600}', '\u0000', '\r\n', '\ufeff'];

const yamlish = fc.array(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...TOKENS) }, { weight: 1, arbitrary: fc.string({ maxLength: 6 }) }), { maxLength: 80 }).map((a) => a.join(''));

/** Edits of a valid file: delete, insert, duplicate, swap, or renumber. */
const mutation = fc.tuple(fc.constantFrom(...SEEDS), fc.array(fc.tuple(fc.nat(), fc.nat(), fc.constantFrom(...TOKENS), fc.integer({ min: 0, max: 5 }), fc.oneof(fc.integer(), fc.double(), fc.constantFrom('1e400', '-0', '2**60', '0.0'))), { minLength: 1, maxLength: 6 }))
  .map(([text, edits]) => {
    let t = text;
    for (const [a, b, tok, kind, num] of edits) {
      const i = a % (t.length + 1), j = Math.min(t.length, i + (b % 20));
      const lines = t.split('\n');
      if (kind === 0) t = t.slice(0, i) + t.slice(j);
      else if (kind === 1) t = t.slice(0, i) + tok + t.slice(i);
      else if (kind === 2) { const k = a % lines.length; lines.splice(k, 0, lines[k]); t = lines.join('\n'); }
      else if (kind === 3) { const k = a % lines.length, m = b % lines.length; [lines[k], lines[m]] = [lines[m], lines[k]]; t = lines.join('\n'); }
      else { let n = 0; const target = b % 30; t = t.replace(/-?\d+(\.\d+)?(e-?\d+)?/g, (s) => (n++ === target ? String(num) : s)); }
    }
    return t;
  });

/** A valid experiment object with one subtree replaced by a random JSON value. */
const base = parseSource(FILE, VALID).value as Record<string, unknown>;
const paths: (string | number)[][] = [];
(function walk(v: unknown, p: (string | number)[]) {
  paths.push(p);
  if (v && typeof v === 'object') for (const [k, c] of Object.entries(v)) walk(c, [...p, Array.isArray(v) ? Number(k) : k]);
})(base, []);
const replaced = fc.tuple(fc.constantFrom(...paths.slice(1)), fc.jsonValue({ maxDepth: 4 })).map(([path, value]) => {
  const obj = structuredClone(base) as any;
  let n = obj;
  for (const k of path.slice(0, -1)) n = n[k];
  n[path[path.length - 1]] = value;
  return obj;
});

test('fuzz: random YAML-ish text', () => {
  fc.assert(fc.property(yamlish, (t) => fromText(t)), params(700, 2500));
});

test('fuzz: mutations of valid experiment files', () => {
  fc.assert(fc.property(mutation, (t) => fromText(t)), params(400, 4000));
});

test('fuzz: random JSON values as the whole document (JSON is YAML)', () => {
  fc.assert(fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => fromText(JSON.stringify(v) ?? 'null')), params(500, 1500));
  fc.assert(fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => fromText(YAML.stringify(v))), params(300, 1500));
});

test('fuzz: valid experiments with a subtree replaced by a random value', () => {
  fc.assert(fc.property(replaced, (obj) => fromText(YAML.stringify(obj))), params(400, 3500));
});

test('fuzz: random bytes and mutated files through the file loader', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => fromFile(b)), params(200, 1200));
  fc.assert(fc.property(mutation, (t) => fromFile(t)), params(100, 1500));
});

test('fuzz: the properties ran, and some inputs were valid', () => {
  if (process.env.NANOLAB_TEST_TIMES) console.log(`  ${handled} inputs, ${valid} valid, slowest ${slowest.toFixed(0)} ms`);
  assert.ok(handled > 500, `${handled} inputs`);
  assert.ok(valid > 0, 'no input was valid: the generators are too destructive to reach the validator');
});

test.run();
