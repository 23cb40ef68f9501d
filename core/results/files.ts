import { closeSync, fsyncSync, openSync, readdirSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Writes a whole file so that readers see the old or the new content, never a part: the content
 * goes to a temporary file that is flushed to disk and then renamed over the old one (a rename
 * is atomic). A failed write (disk full) removes the temporary file and leaves the old one.
 */
export function writeAtomic(path: string, content: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, content);
    const fd = openSync(tmp, 'r+');
    try { fsyncSync(fd); } finally { closeSync(fd); }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    // ENOSPC from write(2) names no file: say which one could not be written
    if (e && typeof e === 'object') (e as NodeJS.ErrnoException).path = path;
    throw e;
  }
  syncDir(dirname(path));
}

/** Flushes a directory entry (the rename) to disk; not every platform allows it. */
function syncDir(dir: string): void {
  let fd: number | undefined;
  try { fd = openSync(dir, 'r'); fsyncSync(fd); } catch { /* Windows, some network filesystems */ } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Appends complete lines and flushes them to disk before returning. */
export function appendDurable(path: string, content: string): void {
  const fd = openSync(path, 'a');
  try { writeSync(fd, content); fsyncSync(fd); } finally { closeSync(fd); }
}

/**
 * Removes temporary files that writeAtomic left in `dir` when its process was killed mid-write
 * (`name.tmp-<pid>` whose process no longer runs).
 */
export function removeStaleTemps(dir: string): void {
  let names: string[];
  try { names = readdirSync(dir); } catch { return; }
  for (const n of names) {
    const m = /\.tmp-(\d+)$/.exec(n);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || alive(pid)) continue; // being written right now
    rmSync(join(dir, basename(n)), { force: true });
  }
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}
