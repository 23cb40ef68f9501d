// `runner.ts report <dir>` and the end of every sweep: table.md, table.tex, charts/*.svg and
// report.html from what the results directory holds (so a report can be redone at any time).
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeAtomic } from '../results/files.ts';
import { buildCharts } from './charts.ts';
import { aggregate, groupKey, readResultsDir } from './data.ts';
import { environmentRows, REPRODUCIBILITY, reportHtml } from './html.ts';
import { buildTable, knownColumns, latex, markdown } from './tables.ts';

export interface ReportResult { files: string[]; warnings: string[] }

export async function writeReport(dir: string): Promise<ReportResult> {
  const res = readResultsDir(dir);
  const a = aggregate(res);
  const t = buildTable(a);
  const env = environmentRows(res.meta).filter(([k]) => ['commit', 'lockfile sha256', 'packages', 'backends', 'native backend', 'cpu', 'gpu'].includes(k));
  const footer = [...(env.length ? ['Environment:', '', ...env.map(([k, v]) => `- ${k}: ${v}`), ''] : []), REPRODUCIBILITY];
  const files: [string, string][] = [['table.md', markdown(t, a, footer)], ['table.tex', latex(t, a)]];
  const charts = await buildCharts(a, dir);
  mkdirSync(join(dir, 'charts'), { recursive: true });
  for (const c of charts) files.push([join('charts', c.file), c.svg]);
  files.push(['report.html', reportHtml(res, a, t, charts)]);
  for (const [f, content] of files) writeAtomic(join(dir, f), content);
  return { files: files.map(([f]) => f), warnings: [...a.warnings, ...t.warnings] };
}

export interface ReportIO { out(s: string): void; err(s: string): void; cwd: string }

/** `report <results dir>`: 0 written, 2 usage or unreadable directory. */
export async function reportCommand(argv: string[], io: ReportIO): Promise<number> {
  if (argv.length !== 1 || argv[0].startsWith('-')) {
    io.err('usage: runner.ts report <results dir>\n');
    return argv.includes('-h') || argv.includes('--help') ? 0 : 2;
  }
  const dir = resolve(io.cwd, argv[0]);
  try {
    const r = await writeReport(dir);
    for (const w of r.warnings) io.err(`nanolab: ${w}\n`);
    io.out(`report in ${join(dir, 'report.html')} (${r.files.join(', ')})\n`);
    return 0;
  } catch (e) {
    io.err(`nanolab: report: ${(e as Error).message}\n`);
    return 2;
  }
}

/** Problems with the experiment's report section that the schema cannot see (column names and
 * the baseline depend on the sweep), found before anything trains. */
export function reportConfigProblems(raw: any, runs: { name: string; rung: string; device: string }[], axisNames: string[]): { path: (string | number)[]; message: string }[] {
  const rep = raw?.report;
  if (!rep || typeof rep !== 'object') return [];
  const out: { path: (string | number)[]; message: string }[] = [];
  const known = knownColumns(axisNames);
  (Array.isArray(rep.columns) ? rep.columns : []).forEach((c: unknown, i: number) => {
    if (!known.includes(String(c))) out.push({ path: ['report', 'columns', i], message: `unknown column '${c}' (known: ${known.join(', ')})` });
  });
  if (rep.baseline !== undefined) {
    const b = String(rep.baseline);
    const multiDevice = new Set(runs.map((r) => r.device)).size > 1;
    const names = new Set(runs.flatMap((r) => [r.name, r.rung, groupKey(r.name, r.device, multiDevice)]));
    if (!names.has(b)) out.push({ path: ['report', 'baseline'], message: `'${b}' is neither a rung nor a run of this sweep` });
  }
  return out;
}
