// meta.json: what a reader needs to trust and reproduce the numbers.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

function tryRun(cmd: string, args: string[]): string | null {
  try { return execFileSync(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).toString().trim(); } catch { return null; }
}

function version(pkg: string): string | null {
  try { return JSON.parse(readFileSync(createRequire(import.meta.url).resolve(`${pkg}/package.json`), 'utf8')).version; } catch { return null; }
}

export function environment(): Record<string, unknown> {
  const commit = tryRun('git', ['rev-parse', 'HEAD']);
  const dirty = commit ? (tryRun('git', ['status', '--porcelain', '--untracked-files=no']) ?? '') !== '' : null;
  let lockHash: string | null = null;
  try { lockHash = createHash('sha256').update(readFileSync(`${root}package-lock.json`)).digest('hex').slice(0, 16); } catch { /* none */ }
  const gpu = tryRun('nvidia-smi', ['--query-gpu=name,driver_version', '--format=csv,noheader']);
  return {
    nanolab: JSON.parse(readFileSync(`${root}package.json`, 'utf8')).version,
    commit, commit_dirty: dirty, lockfile_sha256: lockHash,
    node: process.version,
    packages: Object.fromEntries(['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-cpu', 'yaml', 'ajv', 'csv-stringify'].map((p) => [p, version(p)])),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    cpu: os.cpus()[0]?.model ?? 'unknown', cpu_cores: os.cpus().length,
    memory_gib: Math.round(os.totalmem() / 2 ** 30),
    gpu: gpu ?? null,
    reproducibility: 'losses are bitwise reproducible for the same seed on the same backend and machine (and thread count); other backends agree to rounding',
  };
}
