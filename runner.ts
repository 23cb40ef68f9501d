#!/usr/bin/env -S npx tsx
// nanolab's command line: `npx tsx runner.ts experiments/ablation.yaml`. All logic is in
// core/run.ts; this file only wires the process (streams, signals, exit code).
import { run } from './core/run.ts';

let stopRequested = false;
const onSignal = (sig: NodeJS.Signals) => {
  if (stopRequested) process.exit(130); // second Ctrl-C: leave now (finished rows are already on disk)
  stopRequested = true;
  process.stderr.write(`\nnanolab: ${sig}: finishing the current step; press Ctrl-C again to quit at once\n`);
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

const code = await run(process.argv.slice(2), {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  isTTY: Boolean(process.stdout.isTTY),
  cwd: process.cwd(),
  interrupted: () => stopRequested,
});
process.exitCode = code;
