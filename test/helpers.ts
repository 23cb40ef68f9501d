// Shared by the tests: run the CLI in-process and capture what it prints.
import { mkdtempSync } from 'node:fs';
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
