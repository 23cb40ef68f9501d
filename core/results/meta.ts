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
  // packages with an exports map may not expose package.json: read it from node_modules then
  for (const p of [() => createRequire(import.meta.url).resolve(`${pkg}/package.json`), () => `${root}node_modules/${pkg}/package.json`]) {
    try { return JSON.parse(readFileSync(p(), 'utf8')).version; } catch { /* next */ }
  }
  return null;
}

/** The first GPU nvidia-smi lists (name, driver, memory) and how many there are; null without one. */
function gpuInfo(): { name: string; driver: string; memory: string; count: number } | null {
  const out = tryRun('nvidia-smi', ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader']);
  const lines = out?.split('\n').filter((l) => l.trim()) ?? [];
  if (!lines.length) return null;
  const [name, driver, memory] = lines[0].split(',').map((x) => x.trim());
  return { name, driver, memory, count: lines.length };
}

export interface NativeInfo { ok: boolean; reason?: string; version?: string; gemmKernel?: string; threads?: number; precisions?: string[] }

export function environment(native?: NativeInfo | null): Record<string, unknown> {
  // NANOLAB_COMMIT: where the tree was copied without .git (scripts/device: a GPU machine)
  const gitCommit = tryRun('git', ['rev-parse', 'HEAD']);
  const commit = gitCommit ?? process.env.NANOLAB_COMMIT ?? null;
  const dirty = gitCommit ? (tryRun('git', ['status', '--porcelain', '--untracked-files=no']) ?? '') !== '' : null;
  let lockHash: string | null = null;
  try { lockHash = createHash('sha256').update(readFileSync(`${root}package-lock.json`)).digest('hex'); } catch { /* none */ }
  const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8'));
  return {
    nanolab: pkg.version,
    commit, commit_dirty: dirty, lockfile_sha256: lockHash,
    node: process.version,
    packages: Object.fromEntries(Object.keys(pkg.dependencies ?? {}).map((p) => [p, version(p)])),
    native: native ? (native.ok ? { version: native.version ?? null, gemm_kernel: native.gemmKernel ?? null, threads: native.threads ?? null, precisions: native.precisions ?? null } : { ok: false, reason: native.reason ?? null }) : null,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    cpu: os.cpus()[0]?.model ?? 'unknown', cpu_cores: os.cpus().length,
    memory_gib: Math.round(os.totalmem() / 2 ** 30),
    gpu: gpuInfo(),
    reproducibility: 'losses are bitwise reproducible for the same seed on the same backend and machine (and thread count); other backends agree to rounding',
  };
}
