import { closeSync, fsyncSync, openSync, renameSync, writeFileSync, writeSync } from 'node:fs';

/** Writes a whole file so that readers see the old or the new content, never a part. */
export function writeAtomic(path: string, content: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, content);
  const fd = openSync(tmp, 'r+');
  try { fsyncSync(fd); } finally { closeSync(fd); }
  renameSync(tmp, path);
}

/** Appends complete lines and flushes them to disk before returning. */
export function appendDurable(path: string, content: string): void {
  const fd = openSync(path, 'a');
  try { writeSync(fd, content); fsyncSync(fd); } finally { closeSync(fd); }
}
