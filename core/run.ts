// The command line, as a function tests can drive in-process: run(argv, io) -> exit code.
// 0: done; 1: some run failed; 2: invalid input (nothing trained, nothing written); 130: interrupted.
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { allLayers } from '../layers/index.ts';
import { activate, deviceProblem, probeDevices } from './backend.ts';
import { isCudaBackend, loadCudaBackend } from '../native/cuda/index.ts';
import type { CudaDeviceInfo } from '../native/cuda/binding.ts';
import { ConfigError, formatPath, formatProblem } from './config/errors.ts';
import { locate } from './config/source.ts';
import { loadExperiment, type Experiment, type ValidatedRun } from './config/validate.ts';
import { buildModel, formatSummary } from './model/build.ts';
import { resultColumns, type Row } from './results/columns.ts';
import { environment } from './results/meta.ts';
import { fmt, ResultsWriter } from './results/writer.ts';
import { writeAtomic } from './results/files.ts';
import { trainRun, type TrainResult } from './train/train.ts';
import { removeCheckpoint } from './train/checkpoint.ts';
import { mergeCommand } from './sweep/merge.ts';
import { isWriteFailure, outputProblem, writeFailure, writeFailureLog } from './sweep/output.ts';
import { parseShard, shardDirName, shardRuns, type Shard } from './sweep/shard.ts';
import { estimateRuns } from './report/estimate.ts';
import { reportCommand, reportConfigProblems, writeReport } from './report/index.ts';
import { SweepBars, clock } from './report/progress.ts';

export interface IO {
  out(s: string): void;
  err(s: string): void;
  isTTY: boolean;
  cwd: string;
  /** set by the caller (runner.ts on SIGINT/SIGTERM); runs stop at the next step */
  interrupted?: () => boolean;
}

const USAGE = `usage: runner.ts <experiment.yaml> [options]
       runner.ts report <results dir>   (re)write table.md, table.tex, charts/ and report.html
       runner.ts merge <dir>... --out DIR   combine shard outputs: one row per run_id, in run order
       runner.ts --list-layers

options:
  --dry-run          print the run matrix (ids, rungs, axes, parameter counts) with time
                     estimates from a few calibration steps per model shape, and stop
  --no-estimate      with --dry-run: skip the calibration (validation and matrix only)
  --summary          print each run's layers, output shapes and parameter counts, and stop
  --only <pattern>   run only runs whose name contains the pattern (* matches anything; a,b: either)
  --device cpu|gpu   run every run on this device
  --steps N          override train.steps (quick looks)
  --out DIR          output directory (default: output.dir, else results/<name>)
  --set path=value   override a setting (repeatable): data.path=my.txt, train.steps=100,
                     n_head=8 (a variable), sweep.seeds=[1,2,3]
  --force            rerun runs that already have a finished row (ok or diverged), from scratch
  --shard I/N        run shard I (0-based) of N: runs I+1, I+1+N, ... of the matrix, into
                     <out>/shard-I-of-N/; --shard auto/N takes I from SLURM_ARRAY_TASK_ID (job
                     arrays) or JOB_COMPLETION_INDEX (Kubernetes Indexed Jobs); then
                     runner.ts merge <out>/shard-* --out <out>  (examples/slurm, examples/kubernetes)
  --quiet            print only errors and the final table path
  --list-layers      print every registered layer and its parameters

A rerun skips runs with a finished row and runs the rest; interrupted runs resume from their last
checkpoint (train.checkpoint: {every: N}). A run that fails (error, out of memory, NaN loss) gets a
row with its status and error, and the sweep goes on (on_error: stop ends it); unexpected errors
leave a full log in <out>/logs/<run_id>.log. Exit: 0 done, 1 some run failed, 2 invalid input
(nothing written), 130 interrupted (Ctrl-C once: finish the step; twice: quit at once).`;

export async function run(argv: string[], io: IO): Promise<number> {
  try {
    return await runCommand(argv, io);
  } catch (e) {
    // the output went bad mid-sweep (disk full, permissions): one line, finished rows are kept
    if (!isWriteFailure(e)) throw e;
    io.err(`nanolab: ${writeFailure(e)}; the rows finished before it are saved\n`);
    return 1;
  }
}

async function runCommand(argv: string[], io: IO): Promise<number> {
  if (argv[0] === 'merge') return mergeCommand(argv.slice(1), io);
  if (argv[0] === 'report') return reportCommand(argv.slice(1), io);
  let args;
  try {
    args = parseArgs({
      args: argv, allowPositionals: true, strict: true,
      options: {
        'dry-run': { type: 'boolean' }, 'no-estimate': { type: 'boolean' }, summary: { type: 'boolean' }, only: { type: 'string' },
        device: { type: 'string' }, steps: { type: 'string' }, out: { type: 'string' }, force: { type: 'boolean' },
        quiet: { type: 'boolean' }, shard: { type: 'string' }, set: { type: 'string', multiple: true }, 'list-layers': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    io.err(`nanolab: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const o = args.values;
  if (o.help) { io.out(`${USAGE}\n`); return 0; }
  if (o['list-layers']) { io.out(listLayers()); return 0; }
  if (args.positionals.length !== 1) { io.err(`nanolab: give exactly one experiment file\n${USAGE}\n`); return 2; }
  let steps: number | undefined;
  if (o.steps !== undefined) {
    steps = Number(o.steps);
    if (!Number.isInteger(steps) || steps < 1) { io.err(`nanolab: --steps must be a positive integer (got ${o.steps})\n`); return 2; }
  }
  if (o.device !== undefined && o.device !== 'cpu' && o.device !== 'gpu') { io.err(`nanolab: --device must be cpu or gpu (got ${o.device})\n`); return 2; }
  let shard: Shard | null = null;
  if (o.shard !== undefined) {
    const s = parseShard(o.shard);
    if (typeof s === 'string') { io.err(`nanolab: ${s}\n`); return 2; }
    shard = s;
  }

  const file = resolve(io.cwd, args.positionals[0]);
  const shownFile = args.positionals[0];
  let devices;
  try { devices = await probeDevices(); } catch (e) { io.err(`nanolab: ${(e as Error).message}\n`); return 2; }

  let exp: Experiment;
  try {
    exp = loadExperiment(file, { steps, device: o.device, set: o.set, cwd: io.cwd, checkDevice: deviceProblem(devices) });
  } catch (e) {
    if (e instanceof ConfigError) {
      for (const p of e.problems) io.err(`${formatProblem({ ...p, file: shownFile })}\n`);
      return 2;
    }
    throw e;
  }
  exp.source.file = shownFile;
  const reportProblems = reportConfigProblems(exp.raw, exp.runs, exp.axisNames);
  if (reportProblems.length) {
    for (const p of reportProblems) io.err(`${formatProblem({ code: 'schema', file: shownFile, ...locate(exp.source, p.path), path: formatPath(p.path), message: p.message })}\n`);
    return 2;
  }

  let runs = exp.runs;
  if (o.only) {
    const pats = o.only.split(',').map((p) => new RegExp(p.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')));
    runs = runs.filter((r) => pats.some((re) => re.test(r.name)));
    if (!runs.length) { io.err(`nanolab: --only ${o.only} matches none of the ${exp.runs.length} runs\n`); return 2; }
  }
  const runOrder = runs.map((r) => r.id);
  if (shard) runs = shardRuns(runs, shard);

  if (o['dry-run'] && o['no-estimate']) { io.out(runMatrix(exp, runs, devices.cpu.name)); return 0; }
  if (o['dry-run']) {
    const est = await estimateRuns(runs, {
      corpus: (cfg) => exp.corpora.get(cfg.data, cfg.tokenizer),
      activate: (d) => activate(d === 'gpu' ? devices.gpu!.name : devices.cpu.name),
      shouldStop: () => io.interrupted?.() ?? false,
    });
    io.out(runMatrix(exp, runs, devices.cpu.name, est.seconds));
    const total = [...est.seconds.values()].reduce((a, b) => a + b, 0);
    io.out(`estimated total: ${clock(total)} for ${runs.length} run${runs.length === 1 ? '' : 's'} (${est.shapes} model shape${est.shapes === 1 ? '' : 's'} calibrated in ${est.calibrationS.toFixed(1)} s${est.stopped ? '; interrupted, some runs not estimated' : ''})\n`);
    return 0;
  }
  if (o.summary) {
    for (const r of runs) {
      const m = buildModel(r.config.model.layers, { vocabSize: r.vocabSize, blockSize: r.config.model.vars.block_size, init: r.config.model.init, seed: r.seed, dry: true });
      io.out(`\n${r.name} (${r.id})\n${formatSummary(m)}\n`);
    }
    return 0;
  }

  // the output directory: created only now that everything validated
  const baseDir = o.out ? resolve(io.cwd, o.out) : exp.raw.output?.dir ? resolve(io.cwd, exp.raw.output.dir) : join(io.cwd, 'results', exp.name);
  const outDir = shard ? join(baseDir, shardDirName(shard)) : baseDir;
  const outProblem = outputProblem(outDir);
  if (outProblem) {
    const { line, col } = o.out || !exp.raw.output?.dir ? { line: 1, col: 1 } : locate(exp.source, ['output', 'dir']);
    io.err(`${formatProblem({ code: 'output', file: shownFile, line, col, path: o.out ? '--out' : 'output.dir', message: outProblem })}\n`);
    return 2;
  }

  if (devices.cpu.notice && runs.some((r) => r.device === 'cpu') && !o.quiet) io.err(`${devices.cpu.notice}\n`);
  const columns = resultColumns(exp.axisNames);
  const existing = ResultsWriter.readExisting(outDir);
  // finished: ok, or diverged (deterministic: a rerun would diverge again); others run again
  const done = new Set(existing.filter((r) => r.status === 'ok' || r.status === 'diverged').map((r) => String(r.run_id)));
  const todo = o.force ? runs : runs.filter((r) => !done.has(r.id));
  // a kill between writing a row and removing its run's checkpoint leaves the checkpoint behind
  for (const id of done) if (!o.force) removeCheckpoint(join(outDir, 'checkpoints', id));
  const rerun = new Set(todo.map((r) => r.id));
  const writer = new ResultsWriter(outDir, columns, exp.name);
  writer.open(existing.filter((r) => !rerun.has(String(r.run_id))));
  const meta: Record<string, unknown> = {
    experiment: exp.name, file: shownFile, started: new Date().toISOString(), finished: null,
    backends: { cpu: devices.cpu.name, gpu: devices.gpu?.name ?? null }, runs: runs.length,
    shard: shard ? { index: shard.index, count: shard.count, from: shard.from } : null, run_order: runOrder,
    ...environment(devices.cpu.name === 'native' ? (await import('../native/index.ts')).loadNativeBackend() : null),
    // nanolab's CUDA backend, when it runs device: gpu: the device, CUDA versions and how GEMMs run
    cuda: devices.gpu && isCudaBackend(devices.gpu.name)
      ? cudaMeta(loadCudaBackend({ emulated: devices.gpu.name === 'cuda-emu' }).device) : null,
  };
  writeAtomic(join(outDir, 'meta.json'), JSON.stringify(meta, null, 2));
  writeAtomic(join(outDir, 'experiment.yaml'), exp.source.text);
  if (!o.quiet && todo.length < runs.length) io.out(`${runs.length - todo.length} of ${runs.length} runs already done in ${outDir} (--force reruns them)\n`);
  if (!o.quiet && shard) io.out(`shard ${shard.index} of ${shard.count} (${shard.from}): ${runs.length} of the ${runOrder.length} runs\n`);
  const stopOnError = exp.raw.on_error === 'stop';
  let stopped = false;

  let failed = 0, interrupted = false;
  // a terminal gets two progress bars (sweep, current run); logs and pipes get plain lines
  const bars = !o.quiet && io.isTTY && todo.length ? new SweepBars(io, todo.map((r) => r.config.train.steps)) : null;
  const say = (s: string) => (bars ? bars.log(s) : io.out(s));
  for (const [k, r] of todo.entries()) {
    const backend = r.device === 'gpu' ? devices.gpu!.name : devices.cpu.name;
    await activate(backend);
    const corpus = exp.corpora.get(r.config.data, r.config.tokenizer);
    const label = `[${k + 1}/${todo.length}] ${r.name}`;
    if (!o.quiet && !io.isTTY) io.out(`${label}: ${r.paramCount.toLocaleString('en-US')} params, ${r.config.train.steps} steps on ${backend}\n`);
    bars?.startRun(label, r.config.train.steps, r.config.train.batch_size * r.config.model.vars.block_size);
    const ckpt = join(outDir, 'checkpoints', r.id);
    if (o.force) removeCheckpoint(ckpt);
    const result = await trainRun(r.config, corpus, {
      checkpoint: { path: ckpt, runId: r.id, backend, onNotice: (m) => io.err(`nanolab: ${r.name}: ${m}\n`) },
      shouldStop: () => io.interrupted?.() ?? false,
      onProgress: (p) => bars?.step(p),
      onEval: (c) => {
        if (o.quiet) return;
        say(`${label} step ${c.step}: train ${c.train_loss.toFixed(4)} val ${c.val_loss.toFixed(4)}\n`);
      },
    });
    bars?.endRun();
    writer.addRun(toRow(exp, r, backend, result), result.curve, result.sample);
    if (result.status === 'ok' || result.status === 'diverged') removeCheckpoint(ckpt);
    if (result.status === 'error' || result.status === 'diverged') failed++;
    if (result.status === 'error') {
      const log = writeFailureLog(outDir, r.id, { run: r.name, run_id: r.id, backend, error: result.error, config: r.config }, result.detail ?? result.error);
      io.err(`nanolab: run ${r.name} (${r.id}) failed: ${result.error}${result.unexpected && log ? `; full log: ${log}` : ''}\n`);
    }
    if (!o.quiet) {
      say(`${label}: ${result.status}${result.error ? ` (${result.error})` : ''}${result.resumedFrom ? ` (resumed from the checkpoint at step ${result.resumedFrom})` : ''}, val ${fmt(result.valLoss, 4)}, ${fmt(result.msMedian, 2)} ms/step, ${result.wallS.toFixed(1)} s\n`);
    }
    if (result.status === 'interrupted') { interrupted = true; break; }
    if (stopOnError && (result.status === 'error' || result.status === 'diverged')) {
      if (k + 1 < todo.length) io.err(`nanolab: on_error: stop: ${todo.length - k - 1} run${todo.length - k - 1 === 1 ? '' : 's'} not started\n`);
      stopped = true;
      break;
    }
  }
  bars?.stop();
  meta.finished = new Date().toISOString();
  meta.status = interrupted ? 'interrupted' : stopped ? 'stopped after a failed run' : failed ? 'some runs failed' : 'complete';
  writeAtomic(join(outDir, 'meta.json'), JSON.stringify(meta, null, 2));
  if (!interrupted) {
    // a report problem never fails the sweep: the results are on disk, `report <dir>` redoes it
    try {
      const rep = await writeReport(outDir);
      for (const w of rep.warnings) io.err(`nanolab: ${w}\n`);
      if (!o.quiet) io.out(`report in ${join(outDir, 'report.html')}\n`);
    } catch (e) {
      io.err(`nanolab: the report failed (${(e as Error).message}); results are saved, retry with: runner.ts report ${outDir}\n`);
    }
  }
  if (!o.quiet || interrupted) io.out(`${interrupted ? 'interrupted; finished rows are saved in' : 'results in'} ${join(outDir, 'results.csv')}\n`);
  return interrupted ? 130 : failed ? 1 : 0;
}

function toRow(exp: Experiment, r: ValidatedRun, backend: string, t: TrainResult): Row {
  const row: Row = { run_id: r.id, experiment: exp.name, run: r.name, rung: r.rung };
  for (const a of exp.axisNames) row[a] = typeof r.axes[a] === 'object' ? JSON.stringify(r.axes[a]) : (r.axes[a] as string | number);
  Object.assign(row, {
    seed: r.seed, device: r.device, backend, precision: r.config.precision ?? 'fp32', params: t.params, steps: t.steps,
    train_loss: fmt(t.trainLoss, 4), val_loss: fmt(t.valLoss, 4), best_val_loss: fmt(t.bestValLoss, 4),
    ms_per_step_median: fmt(t.msMedian, 3), ms_per_step_p95: fmt(t.msP95, 3), tokens_per_s: fmt(t.tokensPerS, 0),
    train_s: t.trainS.toFixed(2), eval_s: t.evalS.toFixed(2), wall_s: t.wallS.toFixed(2), status: t.status, error: t.error,
  });
  return row;
}

function runMatrix(exp: Experiment, runs: ValidatedRun[], cpuBackend: string, est?: Map<string, number>): string {
  const head = ['#', 'run_id', 'run', 'rung', ...exp.axisNames, 'device', 'seed', 'params', 'steps', ...(est ? ['est'] : [])];
  const rows = runs.map((r) => [String(r.index), r.id, r.name, r.rung, ...exp.axisNames.map((a) => (typeof r.axes[a] === 'string' ? String(r.axes[a]) : JSON.stringify(r.axes[a]) ?? '')),
    r.device, String(r.seed), r.paramCount.toLocaleString('en-US'), String(r.config.train.steps), ...(est ? [clock(est.get(r.id) ?? NaN)] : [])]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd();
  return [`${exp.name}: ${runs.length} run${runs.length === 1 ? '' : 's'} (cpu backend: ${cpuBackend})`, line(head), ...rows.map(line), ''].join('\n');
}

function listLayers(): string {
  const out: string[] = [];
  for (const l of allLayers()) {
    out.push(`${l.name}: ${l.doc}`);
    const props = (l.schema.properties ?? {}) as Record<string, Record<string, unknown>>;
    const req = new Set((l.schema.required as string[] | undefined) ?? []);
    for (const [k, s] of Object.entries(props)) {
      const type = s.enum ? (s.enum as unknown[]).join('|') : (s.type as string) ?? 'object';
      const def = 'default' in s ? ` = ${JSON.stringify(s.default)}` : req.has(k) ? ' (required)' : '';
      out.push(`    ${k}: ${type}${def}${s.description ? `  -- ${s.description}` : ''}`);
    }
  }
  return `${out.join('\n')}\n`;
}

/** The CUDA backend's record in meta.json. */
function cudaMeta(d: CudaDeviceInfo | undefined): Record<string, unknown> | null {
  if (!d) return null;
  return {
    device: d.name ?? null, compute_capability: d.computeCapability ?? null, multiprocessors: d.multiprocessors ?? null,
    memory_gib: d.memoryBytes ? Math.round(d.memoryBytes / 2 ** 30) : null, driver_version: d.driverVersion ?? null,
    runtime_version: d.runtimeVersion ?? null, gemm: d.gemm, bf16_gemm: d.bf16Gemm ?? null, emulated: d.emulated ?? false,
  };
}
