#!/usr/bin/env -S npx tsx
// nanolab's command line: `npx tsx runner.ts experiments/ablation.yaml`. All logic is in
// core/run.ts; this file only wires the process (streams, signals, exit code).
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './core/run.ts';

let stopRequested = false;
const onSignal = (sig: NodeJS.Signals) => {
  if (stopRequested) process.exit(130); // second Ctrl-C: leave now (finished rows are already on disk)
  stopRequested = true;
  process.stderr.write(`\nnanolab: ${sig}: finishing the current step; press Ctrl-C again to quit at once\n`);
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

// `runner.ts ... | head`: a closed pipe is not an error worth a stack trace
for (const stream of [process.stdout, process.stderr]) stream.on('error', (e: NodeJS.ErrnoException) => { if (e.code !== 'EPIPE') throw e; });

let code: number;
try {
  code = await run(process.argv.slice(2), {
    out: (s) => process.stdout.write(s),
    err: (s) => process.stderr.write(s),
    isTTY: Boolean(process.stdout.isTTY),
    cwd: process.cwd(),
    interrupted: () => stopRequested,
  });
} catch (e) {
  // a bug, not a problem with the input: one line for the terminal, the trace in a file
  const log = join(tmpdir(), `nanolab-crash-${process.pid}.log`);
  const detail = `${new Date().toISOString()}\nnanolab ${process.argv.slice(2).join(' ')}\nnode ${process.version}\n\n${(e as Error)?.stack ?? String(e)}\n`;
  let saved = true;
  try { writeFileSync(log, detail); } catch { saved = false; }
  process.stderr.write(`nanolab: internal error: ${String((e as Error)?.message ?? e).split('\n')[0]}${saved ? ` (full log: ${log})` : `\n${detail}`}\n`);
  code = 1;
}
process.exitCode = code;
