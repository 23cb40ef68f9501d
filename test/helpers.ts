// Shared by the tests: run the CLI in-process and capture what it prints.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../core/run.ts';

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
