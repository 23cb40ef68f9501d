// The command line, as a function tests can drive in-process: run(argv, io) -> exit code.
// 0: done; 1: some run failed; 2: invalid input (nothing trained, nothing written); 130: interrupted.
import { mkdirSync, statSync, accessSync, constants } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { allLayers } from '../layers/index.ts';
import { activate, deviceProblem, probeDevices } from './backend.ts';
import { ConfigError, formatProblem } from './config/errors.ts';
import { locate } from './config/source.ts';
import { loadExperiment, type Experiment, type ValidatedRun } from './config/validate.ts';
import { buildModel, formatSummary } from './model/build.ts';
import { resultColumns, type Row } from './results/columns.ts';
import { environment } from './results/meta.ts';
import { fmt, ResultsWriter } from './results/writer.ts';
import { writeAtomic } from './results/files.ts';
import { trainRun, type TrainResult } from './train/train.ts';

export interface IO {
  out(s: string): void;
  err(s: string): void;
  isTTY: boolean;
  cwd: string;
  /** set by the caller (runner.ts on SIGINT/SIGTERM); runs stop at the next step */
  interrupted?: () => boolean;
}

const USAGE = `usage: runner.ts <experiment.yaml> [options]
       runner.ts --list-layers

options:
  --dry-run          print the run matrix (ids, rungs, axes, parameter counts) and stop
  --summary          print each run's layers, output shapes and parameter counts, and stop
  --only <pattern>   run only runs whose name contains the pattern (* matches anything; a,b: either)
  --device cpu|gpu   run every run on this device
  --steps N          override train.steps (quick looks)
  --out DIR          output directory (default: output.dir, else results/<name>)
  --set path=value   override a setting (repeatable): data.path=my.txt, train.steps=100,
                     n_head=8 (a variable), sweep.seeds=[1,2,3]
  --force            rerun runs that already have a finished row
  --quiet            print only errors and the final table path
  --list-layers      print every registered layer and its parameters`;

export async function run(argv: string[], io: IO): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv, allowPositionals: true, strict: true,
      options: {
        'dry-run': { type: 'boolean' }, summary: { type: 'boolean' }, only: { type: 'string' },
        device: { type: 'string' }, steps: { type: 'string' }, out: { type: 'string' }, force: { type: 'boolean' },
        quiet: { type: 'boolean' }, set: { type: 'string', multiple: true }, 'list-layers': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
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

  let runs = exp.runs;
  if (o.only) {
    const pats = o.only.split(',').map((p) => new RegExp(p.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')));
    runs = runs.filter((r) => pats.some((re) => re.test(r.name)));
    if (!runs.length) { io.err(`nanolab: --only ${o.only} matches none of the ${exp.runs.length} runs\n`); return 2; }
  }

  if (o['dry-run']) { io.out(runMatrix(exp, runs, devices.cpu.name)); return 0; }
  if (o.summary) {
    for (const r of runs) {
      const m = buildModel(r.config.model.layers, { vocabSize: r.vocabSize, blockSize: r.config.model.vars.block_size, init: r.config.model.init, seed: r.seed, dry: true });
      io.out(`\n${r.name} (${r.id})\n${formatSummary(m)}\n`);
    }
    return 0;
  }

  // the output directory: created only now that everything validated
  const outDir = o.out ? resolve(io.cwd, o.out) : exp.raw.output?.dir ? resolve(io.cwd, exp.raw.output.dir) : join(io.cwd, 'results', exp.name);
  const outProblem = checkWritable(outDir);
  if (outProblem) {
    const { line, col } = o.out || !exp.raw.output?.dir ? { line: 1, col: 1 } : locate(exp.source, ['output', 'dir']);
    io.err(`${formatProblem({ code: 'output', file: shownFile, line, col, path: o.out ? '--out' : 'output.dir', message: outProblem })}\n`);
    return 2;
  }

  if (devices.cpu.notice && runs.some((r) => r.device === 'cpu') && !o.quiet) io.err(`${devices.cpu.notice}\n`);
  const columns = resultColumns(exp.axisNames);
  const existing = ResultsWriter.readExisting(outDir);
  const done = new Set(existing.filter((r) => r.status === 'ok').map((r) => String(r.run_id)));
  const todo = o.force ? runs : runs.filter((r) => !done.has(r.id));
  const rerun = new Set(todo.map((r) => r.id));
  const writer = new ResultsWriter(outDir, columns, exp.name);
  writer.open(existing.filter((r) => !rerun.has(String(r.run_id))));
  const meta: Record<string, unknown> = {
    experiment: exp.name, file: shownFile, started: new Date().toISOString(), finished: null,
    backends: { cpu: devices.cpu.name, gpu: devices.gpu?.name ?? null }, runs: runs.length, ...environment(),
  };
  writeAtomic(join(outDir, 'meta.json'), JSON.stringify(meta, null, 2));
  writeAtomic(join(outDir, 'experiment.yaml'), exp.source.text);
  if (!o.quiet && todo.length < runs.length) io.out(`${runs.length - todo.length} of ${runs.length} runs already done in ${outDir} (--force reruns them)\n`);

  let failed = 0, interrupted = false;
  for (const [k, r] of todo.entries()) {
    const backend = r.device === 'gpu' ? devices.gpu!.name : devices.cpu.name;
    await activate(backend);
    const corpus = exp.corpora.get(r.config.data, r.config.tokenizer);
    const label = `[${k + 1}/${todo.length}] ${r.name}`;
    if (!o.quiet && !io.isTTY) io.out(`${label}: ${r.paramCount.toLocaleString('en-US')} params, ${r.config.train.steps} steps on ${backend}\n`);
    const t0 = performance.now();
    let lastDraw = 0;
    const result = await trainRun(r.config, corpus, {
      shouldStop: () => io.interrupted?.() ?? false,
      onProgress: (p) => {
        if (o.quiet || !io.isTTY) return;
        const now = performance.now();
        if (now - lastDraw < 100 && p.step !== p.steps) return;
        lastDraw = now;
        const eta = ((now - t0) / p.step) * (p.steps - p.step) / 1000;
        io.out(`\r${label} step ${p.step}/${p.steps} loss ${p.loss.toFixed(4)} ${p.msPerStep.toFixed(1)} ms/step ETA ${formatSeconds(eta)}   `);
      },
      onEval: (c) => {
        if (o.quiet) return;
        io.out(`${io.isTTY ? '\r' : ''}${label} step ${c.step}: train ${c.train_loss.toFixed(4)} val ${c.val_loss.toFixed(4)}${io.isTTY ? '\x1b[K' : ''}\n`);
      },
    });
    writer.addRun(toRow(exp, r, backend, result), result.curve, result.sample);
    if (result.status === 'error' || result.status === 'diverged') failed++;
    if (!o.quiet) {
      io.out(`${label}: ${result.status}${result.error ? ` (${result.error})` : ''}, val ${fmt(result.valLoss, 4)}, ${fmt(result.msMedian, 2)} ms/step, ${result.wallS.toFixed(1)} s\n`);
    }
    if (result.status === 'interrupted') { interrupted = true; break; }
  }
  meta.finished = new Date().toISOString();
  meta.status = interrupted ? 'interrupted' : failed ? 'some runs failed' : 'complete';
  writeAtomic(join(outDir, 'meta.json'), JSON.stringify(meta, null, 2));
  if (!o.quiet || interrupted) io.out(`${interrupted ? 'interrupted; finished rows are saved in' : 'results in'} ${join(outDir, 'results.csv')}\n`);
  return interrupted ? 130 : failed ? 1 : 0;
}

function toRow(exp: Experiment, r: ValidatedRun, backend: string, t: TrainResult): Row {
  const row: Row = { run_id: r.id, experiment: exp.name, run: r.name, rung: r.rung };
  for (const a of exp.axisNames) row[a] = typeof r.axes[a] === 'object' ? JSON.stringify(r.axes[a]) : (r.axes[a] as string | number);
  Object.assign(row, {
    seed: r.seed, device: r.device, backend, params: t.params, steps: t.steps,
    train_loss: fmt(t.trainLoss, 4), val_loss: fmt(t.valLoss, 4), best_val_loss: fmt(t.bestValLoss, 4),
    ms_per_step_median: fmt(t.msMedian, 3), ms_per_step_p95: fmt(t.msP95, 3), tokens_per_s: fmt(t.tokensPerS, 0),
    train_s: t.trainS.toFixed(2), eval_s: t.evalS.toFixed(2), wall_s: t.wallS.toFixed(2), status: t.status, error: t.error,
  });
  return row;
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const m = Math.floor(s / 60);
  return m ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`;
}

function checkWritable(dir: string): string | null {
  try {
    if (statSync(dir, { throwIfNoEntry: false })?.isFile()) return `${dir} is a file, not a directory`;
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
    return null;
  } catch (e) {
    return `cannot write to ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
  }
}

function runMatrix(exp: Experiment, runs: ValidatedRun[], cpuBackend: string): string {
  const head = ['#', 'run_id', 'run', 'rung', ...exp.axisNames, 'device', 'seed', 'params', 'steps'];
  const rows = runs.map((r) => [String(r.index), r.id, r.name, r.rung, ...exp.axisNames.map((a) => (typeof r.axes[a] === 'string' ? String(r.axes[a]) : JSON.stringify(r.axes[a]) ?? '')),
    r.device, String(r.seed), r.paramCount.toLocaleString('en-US'), String(r.config.train.steps)]);
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
