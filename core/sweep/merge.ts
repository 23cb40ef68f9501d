// `runner.ts merge <dir>... --out DIR`: combines the output directories of a sharded sweep (or
// of any sweeps of the same experiment) into one: results.csv, results.md, samples.md/json,
// curves/, logs/, meta.json and experiment.yaml, then the report when core/report provides one.
// Rows are de-duplicated by run_id: a row with status ok wins over any other, and among equals
// the most recent one (by its directory's results.csv modification time, then row position).
// Rows come out in run order (meta.json's run_order, which every sweep records).
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { LEADING_COLUMNS, TRAILING_COLUMNS, type Row } from '../results/columns.ts';
import { writeAtomic } from '../results/files.ts';
import { parseResultsCsv, ResultsWriter, type Sample } from '../results/writer.ts';
import { outputProblem } from './output.ts';

export interface MergeIO { out(s: string): void; err(s: string): void; cwd: string }

export const MERGE_USAGE = `usage: runner.ts merge <dir>... --out DIR [--quiet]
  combines sweep output directories (e.g. <out>/shard-*) into DIR: one row per run_id (status ok
  first, then the latest), in run order, with curves, samples, logs, meta.json and the report`;

interface Source {
  dir: string; shown: string; columns: string[]; rows: Row[]; meta: Record<string, any> | null;
  samples: Sample[]; mtime: number; experimentYaml: string | null; dropped: number;
}

export async function mergeCommand(argv: string[], io: MergeIO): Promise<number> {
  let args;
  try {
    args = parseArgs({ args: argv, allowPositionals: true, strict: true, options: { out: { type: 'string' }, quiet: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  } catch (e) {
    io.err(`nanolab: merge: ${(e as Error).message}\n${MERGE_USAGE}\n`);
    return 2;
  }
  if (args.values.help) { io.out(`${MERGE_USAGE}\n`); return 0; }
  if (!args.positionals.length || !args.values.out) { io.err(`nanolab: merge: give the directories to merge and --out DIR\n${MERGE_USAGE}\n`); return 2; }
  const quiet = Boolean(args.values.quiet);
  const outDir = resolve(io.cwd, args.values.out);

  const sources: Source[] = [];
  for (const d of args.positionals) {
    const dir = resolve(io.cwd, d);
    const csv = join(dir, 'results.csv');
    let text: string;
    try { text = readFileSync(csv, 'utf8'); } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      io.err(`nanolab: merge: ${d}: ${code === 'ENOENT' || code === 'ENOTDIR' ? 'no results.csv here (not a sweep output directory)' : `cannot read results.csv (${code})`}\n`);
      return 2;
    }
    const { columns, rows, dropped } = parseResultsCsv(text);
    if (!columns.includes('run_id')) { io.err(`nanolab: merge: ${d}/results.csv has no run_id column\n`); return 2; }
    const json = <T>(f: string): T | null => { try { return JSON.parse(readFileSync(join(dir, f), 'utf8')) as T; } catch { return null; } };
    let experimentYaml: string | null = null;
    try { experimentYaml = readFileSync(join(dir, 'experiment.yaml'), 'utf8'); } catch { /* optional */ }
    sources.push({ dir, shown: d, columns, rows, meta: json('meta.json'), samples: json<Sample[]>('samples.json') ?? [], mtime: statSync(csv).mtimeMs, experimentYaml, dropped });
  }

  const names = new Set(sources.flatMap((s) => [s.meta?.experiment, ...s.rows.map((r) => r.experiment)]).filter((n) => n !== undefined && n !== null && n !== '').map(String));
  if (names.size > 1) { io.err(`nanolab: merge: the directories hold different experiments (${[...names].join(', ')}); merge one experiment at a time\n`); return 2; }
  const problem = outputProblem(outDir);
  if (problem) { io.err(`nanolab: merge: --out: ${problem}\n`); return 2; }

  // one row per run_id: ok beats everything else; then the latest
  const chosen = new Map<string, { row: Row; src: Source; rank: number; when: number; pos: number }>();
  for (const src of sources) {
    src.rows.forEach((row, pos) => {
      const id = String(row.run_id);
      const cand = { row, src, rank: row.status === 'ok' ? 1 : 0, when: src.mtime, pos };
      const prev = chosen.get(id);
      if (!prev || cand.rank > prev.rank || (cand.rank === prev.rank && (cand.when > prev.when || (cand.when === prev.when && (cand.src !== prev.src || cand.pos > prev.pos))))) chosen.set(id, cand);
    });
  }

  // run order: the union of the sweeps' run_order lists; rows they do not list go last
  const order = new Map<string, number>();
  for (const s of sources) for (const id of (Array.isArray(s.meta?.run_order) ? s.meta!.run_order : []) as string[]) if (!order.has(id)) order.set(id, order.size);
  const seen = [...chosen.keys()];
  const picked = [...chosen.values()].sort((a, b) => (order.get(String(a.row.run_id)) ?? order.size + seen.indexOf(String(a.row.run_id)))
    - (order.get(String(b.row.run_id)) ?? order.size + seen.indexOf(String(b.row.run_id))));

  const columns = mergeColumns(sources.map((s) => s.columns));
  const title = [...names][0] ?? 'merged';
  const rows = picked.map((p) => p.row);
  const samples: Sample[] = [];
  for (const p of picked) {
    const s = p.src.samples.find((x) => x.runId === String(p.row.run_id));
    if (s) samples.push(s);
  }

  mkdirSync(join(outDir, 'curves'), { recursive: true });
  for (const p of picked) {
    const id = String(p.row.run_id);
    for (const [sub, ext] of [['curves', 'csv'], ['logs', 'log']] as const) {
      const from = join(p.src.dir, sub, `${id}.${ext}`), to = join(outDir, sub, `${id}.${ext}`);
      if (existsSync(from) && resolve(from) !== resolve(to)) {
        mkdirSync(join(outDir, sub), { recursive: true });
        writeAtomic(to, readFileSync(from));
      }
    }
  }
  new ResultsWriter(outDir, columns, title).writeAll(rows, samples);
  const yaml = sources.find((s) => s.experimentYaml !== null)?.experimentYaml;
  if (yaml !== undefined && yaml !== null) writeAtomic(join(outDir, 'experiment.yaml'), yaml);

  const missing = [...order.keys()].filter((id) => !chosen.has(id));
  const failed = rows.filter((r) => r.status !== 'ok').length;
  const metas = sources.map((s) => s.meta).filter((m): m is Record<string, any> => m !== null);
  const times = (k: string) => metas.map((m) => m[k]).filter((t): t is string => typeof t === 'string').sort();
  const meta: Record<string, unknown> = {
    ...(metas[0] ?? {}),
    experiment: title,
    started: times('started')[0] ?? null,
    finished: times('finished').at(-1) ?? null,
    runs: order.size || rows.length,
    run_order: [...order.keys()],
    shard: null,
    merged: new Date().toISOString(),
    merged_from: sources.map((s) => ({ dir: relative(outDir, s.dir) || '.', shard: s.meta?.shard ?? null, rows: s.rows.length, status: s.meta?.status ?? null })),
    status: missing.length ? 'incomplete' : failed ? 'some runs failed' : 'complete',
  };
  writeAtomic(join(outDir, 'meta.json'), JSON.stringify(meta, null, 2));

  for (const s of sources) if (s.dropped) io.err(`nanolab: merge: ${s.shown}/results.csv ended with ${s.dropped} incomplete row${s.dropped === 1 ? '' : 's'} (left out)\n`);
  const dupes = sources.reduce((a, s) => a + s.rows.length, 0) - rows.length;
  if (!quiet) {
    io.out(`merged ${rows.length} run${rows.length === 1 ? '' : 's'} from ${sources.length} director${sources.length === 1 ? 'y' : 'ies'}${dupes ? ` (${dupes} duplicate row${dupes === 1 ? '' : 's'} dropped)` : ''} into ${join(outDir, 'results.csv')}\n`);
  }
  if (missing.length) io.err(`nanolab: merge: ${missing.length} of ${order.size} runs have no row yet (a shard not finished?): ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}\n`);

  // the report, when the report module is there (it is optional to merging)
  try {
    const mod = await import('../report/index.ts').catch(() => null) as { writeReport?: (dir: string) => Promise<{ warnings: string[] }> } | null;
    if (mod?.writeReport) {
      const rep = await mod.writeReport(outDir);
      for (const w of rep.warnings) io.err(`nanolab: ${w}\n`);
      if (!quiet) io.out(`report in ${join(outDir, 'report.html')}\n`);
    }
  } catch (e) {
    io.err(`nanolab: merge: the report failed (${(e as Error).message}); the merged results are saved, retry with: runner.ts report ${outDir}\n`);
  }
  return 0;
}

/** Leading columns, then every axis column any source has (in first-seen order), then the rest. */
export function mergeColumns(lists: string[][]): string[] {
  const axes: string[] = [];
  for (const l of lists) for (const c of l) if (!LEADING_COLUMNS.includes(c) && !TRAILING_COLUMNS.includes(c) && !axes.includes(c)) axes.push(c);
  return [...LEADING_COLUMNS, ...axes, ...TRAILING_COLUMNS];
}
