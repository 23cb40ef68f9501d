// Shared by the tests: run the CLI in-process and capture what it prints.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../core/run.ts';
import { charTokenizer } from '../core/tokenizers/char.ts';

export interface Captured { code: number; out: string; err: string }

export async function cli(argv: string[], opts: { interruptAfter?: number } = {}): Promise<Captured> {
  let out = '', err = '', calls = 0;
  const code = await run(argv, {
    out: (s) => { out += s; }, err: (s) => { err += s; }, isTTY: false, cwd: process.cwd(),
    interrupted: () => opts.interruptAfter !== undefined && ++calls > opts.interruptAfter,
  });
  return { code, out, err };
}

export function tempDir(prefix = 'nanolab-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Shakespeare-like text that a tiny model learns something from in a few dozen steps. */
export const TINY_TEXT = 'First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n'.repeat(40);

/** TINY_TEXT as an in-memory corpus (char tokens; the last 400 for validation), for tests that
 * call trainRun directly. */
export function tinyCorpus() {
  const tokenizer = charTokenizer(TINY_TEXT);
  const ids = tokenizer.encode(TINY_TEXT);
  return { text: TINY_TEXT, source: 'test', tokenizer, train: ids.subarray(0, 2800), val: ids.subarray(2800), sha256: '' };
}

/** A resolved config for trainRun: AdamW at a constant learning rate, no evaluation on the way,
 * no timing warm-up, no sample. */
export function directTrainConfig(o: { layers: unknown[]; blockSize: number; batchSize: number; steps: number; precision?: string }) {
  return {
    seed: 1337, precision: o.precision ?? 'fp32',
    model: { init: 'pytorch', vars: { block_size: o.blockSize }, layers: o.layers },
    train: {
      steps: o.steps, batch_size: o.batchSize, timing_warmup: 0,
      optimizer: { adamw: { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0.01, decay: 'all' } },
      schedule: { warmup_steps: 0, decay: 'none', min_lr: 0 }, eval: { interval: 1000, iters: 1 },
    },
    output: { sample_chars: 0 },
  };
}

/** One pre-norm block with dropout: the default body of tinyExperiment's model. */
export const TINY_LAYERS = `    - token_embedding: {dim: $n_embd}
    - position_embedding: {}
    - block: {attention: {n_head: $n_head, dropout: $dropout}, feed_forward: {dropout: $dropout}}
    - layer_norm: {}
    - lm_head: {}`;

/**
 * Writes text.txt (TINY_TEXT) and exp.yaml, a tiny transformer experiment (16 wide, 2 heads,
 * block 8), in a new temporary directory, and returns the experiment's path.
 */
export function tinyExperiment(o: { name: string; train: string; layers?: string; sampleChars?: number; extra?: string; prefix?: string }): string {
  const dir = tempDir(o.prefix);
  writeFileSync(join(dir, 'text.txt'), TINY_TEXT);
  const file = join(dir, 'exp.yaml');
  writeFileSync(file, `name: ${o.name}
data: {path: text.txt}
model:
  vars: {n_embd: 16, n_head: 2, block_size: 8, dropout: 0.1}
  layers:
${o.layers ?? TINY_LAYERS}
train: ${o.train}
output: {sample_chars: ${o.sampleChars ?? 20}}
${o.extra ?? ''}`);
  return file;
}
