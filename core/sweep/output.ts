// Checks on the output directory before anything is written (so invalid setups leave nothing
// behind), and the per-run failure logs written into it.
import { accessSync, constants, mkdirSync, statfsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { writeAtomic } from '../results/files.ts';

/**
 * A sweep writes little (rows, curves, samples, checkpoints): refuse to start below this much
 * free space. NANOLAB_MIN_FREE_BYTES changes it (say, to leave room for big checkpoints).
 */
export const MIN_FREE_BYTES = 1 << 20;

function minFreeBytes(): number {
  const env = Number(process.env.NANOLAB_MIN_FREE_BYTES);
  return process.env.NANOLAB_MIN_FREE_BYTES && Number.isFinite(env) && env >= 0 ? env : MIN_FREE_BYTES;
}

/**
 * Why `dir` cannot be used as an output directory, or null when it can. Creates nothing: it
 * checks the nearest existing ancestor (a directory, writable, with space left on its device).
 */
export function outputProblem(dir: string, minFree = minFreeBytes()): string | null {
  const target = resolve(dir);
  let p = target;
  for (;;) {
    let st;
    try { st = statSync(p, { throwIfNoEntry: false }); } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOTDIR') return `cannot use ${target} (${code ?? (e as Error).message})`;
    }
    if (st) {
      if (!st.isDirectory()) {
        return p === target ? `${target} is a file, not a directory` : `${p} is a file, so ${target} cannot be created under it`;
      }
      try { accessSync(p, constants.W_OK | constants.X_OK); } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        return `cannot write to ${p}${p === target ? '' : ` (to create ${target})`} (${code === 'EACCES' ? 'permission denied' : code === 'EROFS' ? 'read-only filesystem' : code})`;
      }
      try {
        const fs = statfsSync(p);
        const free = Number(fs.bavail) * Number(fs.bsize);
        if (free < minFree) return `no space left on the device holding ${target} (${formatBytes(free)} free; a sweep needs at least ${formatBytes(minFree)})`;
      } catch { /* statfs unsupported: the first write will say */ }
      return null;
    }
    const up = dirname(p);
    if (up === p) return `cannot use ${target} (no existing parent directory)`;
    p = up;
  }
}

export function formatBytes(n: number): string {
  return n >= 1 << 30 ? `${(n / 2 ** 30).toFixed(1)} GiB` : n >= 1 << 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(0)} KiB` : `${n} bytes`;
}

/** An error from writing results (disk full, permissions changed mid-sweep) as one line. */
export function writeFailure(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const why = err.code === 'ENOSPC' ? 'no space left on device' : err.code === 'EDQUOT' ? 'disk quota exceeded'
    : err.code === 'EACCES' || err.code === 'EPERM' ? 'permission denied' : err.code === 'EROFS' ? 'read-only filesystem'
    : err.code === 'EFBIG' ? 'file too large' : err.code ?? err.message?.split('\n')[0];
  return `cannot write ${err.path ?? 'the results'}: ${why}`;
}

const WRITE_CALLS = ['open', 'write', 'rename', 'mkdir', 'fsync', 'close', 'unlink', 'rmdir', 'copyfile'];

/** Whether an exception is the filesystem refusing a write (rather than a bug). */
export function isWriteFailure(e: unknown): boolean {
  const err = e as NodeJS.ErrnoException | null;
  if (!err || typeof err.code !== 'string') return false;
  if (['ENOSPC', 'EDQUOT', 'EROFS', 'EFBIG'].includes(err.code)) return true;
  return ['EACCES', 'EPERM', 'EIO', 'ENOTDIR', 'EISDIR'].includes(err.code) && WRITE_CALLS.includes(String(err.syscall));
}

/** Writes <out>/logs/<name>.log with everything needed to investigate a failure; returns its path. */
export function writeFailureLog(outDir: string, name: string, fields: Record<string, unknown>, detail: string): string | null {
  const path = join(outDir, 'logs', `${name}.log`);
  try {
    mkdirSync(dirname(path), { recursive: true });
    const head = Object.entries(fields).map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
    writeAtomic(path, [`time: ${new Date().toISOString()}`, ...head, `node: ${process.version} (${process.platform} ${process.arch})`, '', detail, ''].join('\n'));
    return path;
  } catch {
    return null;
  }
}
