// The summary table as a neutral model (columns of typed cells), rendered as Markdown, LaTeX
// (booktabs) and HTML from the same cells so the three always agree.
import type { Aggregate, CsvRow, Group, Metric } from './data.ts';

export type Cell =
  | { kind: 'text'; s: string }
  | { kind: 'pm'; mean: number; std: number; digits: number }
  | { kind: 'delta'; v: number }
  | { kind: 'int'; v: number }
  | { kind: 'ratio'; v: number }
  | { kind: 'none' };

interface ColumnDef { label: string; perDevice: boolean; align: 'l' | 'r'; cell(g: Group, device: string, a: Aggregate): Cell }

const metricCell = (m: Metric, digits?: number) => (g: Group, d: string): Cell => {
  const s = g.byDevice[d]?.stats[m];
  if (!s || !s.n) return { kind: 'none' };
  return m === 'tokens_per_s' ? { kind: 'int', v: s.mean } : { kind: 'pm', mean: s.mean, std: s.std, digits: digits ?? autoDigits(s.mean) };
};

export const FIXED_COLUMNS: Record<string, ColumnDef> = {
  variant: { label: 'variant', perDevice: false, align: 'l', cell: (g) => ({ kind: 'text', s: g.label }) },
  rung: { label: 'rung', perDevice: false, align: 'l', cell: (g) => ({ kind: 'text', s: g.rung }) },
  n: { label: 'n', perDevice: true, align: 'r', cell: (g, d) => ({ kind: 'int', v: g.byDevice[d]?.n ?? 0 }) },
  params: { label: 'params', perDevice: false, align: 'r', cell: (g) => (Number.isFinite(g.params) ? { kind: 'int', v: g.params } : { kind: 'none' }) },
  val_loss: { label: 'val loss', perDevice: true, align: 'r', cell: metricCell('val_loss', 4) },
  train_loss: { label: 'train loss', perDevice: true, align: 'r', cell: metricCell('train_loss', 4) },
  best_val_loss: { label: 'best val loss', perDevice: true, align: 'r', cell: metricCell('best_val_loss', 4) },
  delta_prev: { label: 'Δ prev', perDevice: true, align: 'r', cell: (g, d) => ({ kind: 'delta', v: g.byDevice[d]?.deltaPrev ?? NaN }) },
  delta_base: { label: 'Δ base', perDevice: true, align: 'r', cell: (g, d) => ({ kind: 'delta', v: g.byDevice[d]?.deltaBase ?? NaN }) },
  ms_per_step: { label: 'ms/step', perDevice: true, align: 'r', cell: metricCell('ms_per_step') },
  ms_per_step_p95: { label: 'ms/step p95', perDevice: true, align: 'r', cell: metricCell('ms_per_step_p95') },
  tokens_per_s: { label: 'tokens/s', perDevice: true, align: 'r', cell: metricCell('tokens_per_s') },
  wall_s: { label: 'wall s', perDevice: true, align: 'r', cell: metricCell('wall_s') },
  speedup: {
    label: 'speedup', perDevice: false, align: 'r',
    cell: (g, _d, a) => {
      // the first device (cpu) over the last (gpu): how many times faster a step is
      if (a.devices.length < 2) return { kind: 'none' };
      const ref = g.byDevice[a.devices[0]]?.stats.ms_per_step.mean, other = g.byDevice[a.devices[a.devices.length - 1]]?.stats.ms_per_step.mean;
      return { kind: 'ratio', v: ref / other };
    },
  },
};

/** Every column name report.columns accepts, for a sweep with these axes. */
export function knownColumns(axisNames: string[]): string[] {
  return [...Object.keys(FIXED_COLUMNS), ...axisNames.filter((a) => !(a in FIXED_COLUMNS))];
}

export function defaultColumns(a: Pick<Aggregate, 'hasLadder' | 'devices'>): string[] {
  return ['variant', 'n', 'val_loss', ...(a.hasLadder ? ['delta_prev'] : []), 'delta_base', 'params', 'ms_per_step', 'tokens_per_s',
    ...(a.devices.length > 1 ? ['speedup'] : [])];
}

export interface TableColumn { id: string; label: string; device?: string; align: 'l' | 'r' }
export interface Table { columns: TableColumn[]; rows: Cell[][]; caption: string; warnings: string[] }

export function buildTable(a: Aggregate): Table {
  const warnings: string[] = [];
  const wanted = a.config.columns?.length ? a.config.columns.map(String) : defaultColumns(a);
  const multi = a.devices.length > 1;
  const columns: (TableColumn & { def: ColumnDef })[] = [];
  for (const id of wanted) {
    const def = FIXED_COLUMNS[id] ?? (a.axisNames.includes(id)
      ? { label: id, perDevice: false, align: 'l' as const, cell: (g: Group) => ({ kind: 'text' as const, s: g.axes[id] ?? '' }) }
      : null);
    if (!def) { warnings.push(`report.columns: unknown column '${id}' left out (known: ${knownColumns(a.axisNames).join(', ')})`); continue; }
    if (def.perDevice && multi) for (const d of a.devices) columns.push({ id, label: def.label, device: d, align: def.align, def });
    else columns.push({ id, label: id === 'speedup' && multi ? `speedup ${a.devices.at(-1)}/${a.devices[0]}` : def.label, device: def.perDevice ? a.devices[0] : undefined, align: def.align, def });
  }
  const rows = a.groups.map((g) => columns.map((c) => c.def.cell(g, c.device ?? a.devices[0], a)));
  const ids = new Set(columns.map((c) => c.id));
  const seeds = Math.max(0, ...a.groups.flatMap((g) => Object.values(g.byDevice).map((d) => d.n)));
  const caption = `${a.name}: ${seeds > 1 ? 'mean ± sample standard deviation over seeds (n runs with status ok)' : 'one seed per row (n runs with status ok; no standard deviation)'}; `
    + (ids.has('delta_prev') || ids.has('delta_base') ? `Δ = difference in mean validation loss (negative is better)${ids.has('delta_prev') ? `, prev = ${a.hasLadder ? 'the previous rung' : 'the row above'}` : ''}${ids.has('delta_base') ? `, base = ${a.baseline}` : ''}.` : '');
  return { columns: columns.map(({ def: _d, ...c }) => (multi ? c : { ...c, device: undefined })), rows, caption, warnings };
}

export function autoDigits(x: number): number {
  const m = Math.abs(x);
  return m >= 1000 ? 0 : m >= 100 ? 1 : m >= 10 ? 2 : 3;
}

const thousands = (v: number) => Math.round(v).toLocaleString('en-US');

/** A cell as plain text (Markdown and HTML): '2.4567 ± 0.0123', '+0.0312', '6,889', '12.3x'. */
export function plain(c: Cell): string {
  switch (c.kind) {
    case 'text': return c.s;
    case 'pm': return Number.isFinite(c.std) ? `${c.mean.toFixed(c.digits)} ± ${c.std.toFixed(c.digits)}` : c.mean.toFixed(c.digits);
    case 'delta': return Number.isFinite(c.v) ? `${c.v >= 0 ? '+' : '-'}${Math.abs(c.v).toFixed(4)}` : '—';
    case 'int': return Number.isFinite(c.v) ? thousands(c.v) : '—';
    case 'ratio': return Number.isFinite(c.v) ? `${c.v.toFixed(c.v >= 10 ? 1 : 2)}×` : '—';
    case 'none': return '—';
  }
}

function texCell(c: Cell): string {
  switch (c.kind) {
    case 'text': return texEscape(c.s);
    case 'pm': return Number.isFinite(c.std) ? `$${c.mean.toFixed(c.digits)} \\pm ${c.std.toFixed(c.digits)}$` : `$${c.mean.toFixed(c.digits)}$`;
    case 'delta': return Number.isFinite(c.v) ? `$${c.v >= 0 ? '+' : '-'}${Math.abs(c.v).toFixed(4)}$` : '--';
    case 'int': return Number.isFinite(c.v) ? thousands(c.v).replace(/,/g, '{,}') : '--';
    case 'ratio': return Number.isFinite(c.v) ? `$${c.v.toFixed(c.v >= 10 ? 1 : 2)}\\times$` : '--';
    case 'none': return '--';
  }
}

export function texEscape(s: string): string {
  return s.replace(/[\\{}&%$#_~^]/g, (ch) => ({ '\\': '\\textbackslash{}', '~': '\\textasciitilde{}', '^': '\\textasciicircum{}' } as Record<string, string>)[ch] ?? `\\${ch}`)
    .replace(/Δ/g, '$\\Delta$').replace(/±/g, '$\\pm$').replace(/×/g, '$\\times$');
}

const mdEscape = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function failedLines(rows: CsvRow[]): { run: string; seed: string; device: string; status: string; error: string; steps: string }[] {
  return rows.map((r) => ({ run: r.run, seed: r.seed, device: r.device, status: r.status || 'unknown', error: r.error ?? '', steps: r.steps ?? '' }));
}

export function markdown(t: Table, a: Aggregate, footer: string[]): string {
  const head = t.columns.map((c) => (c.device ? `${c.label} (${c.device})` : c.label));
  const out = [`# ${a.name}`, '', `| ${head.map(mdEscape).join(' | ')} |`, `| ${t.columns.map((c) => (c.align === 'r' ? '---:' : '---')).join(' | ')} |`,
    ...t.rows.map((r) => `| ${r.map((c) => mdEscape(plain(c))).join(' | ')} |`), '', t.caption, ''];
  const failed = failedLines(a.notOk);
  if (failed.length) {
    out.push(`Not aggregated (${failed.length} run${failed.length === 1 ? '' : 's'} without status ok):`, '');
    for (const f of failed) out.push(`- ${f.run} (seed ${f.seed}, ${f.device}): ${f.status}${f.steps ? ` after ${f.steps} steps` : ''}${f.error ? `: ${f.error.replace(/\n/g, ' ')}` : ''}`);
    out.push('');
  }
  for (const w of [...a.warnings, ...t.warnings]) out.push(`Note: ${w}`, '');
  if (footer.length) out.push(...footer, '');
  return out.join('\n');
}

export function latex(t: Table, a: Aggregate): string {
  const multi = t.columns.some((c) => c.device);
  const spec = t.columns.map((c) => c.align).join('');
  const lines = [
    `% nanolab report: ${a.name}. Needs \\usepackage{booktabs}; \\input{table.tex} in a document.`,
    '\\begin{table}[htbp]', '\\centering', '\\small', `\\begin{tabular}{${spec}}`, '\\toprule',
  ];
  if (multi) {
    // two header rows: the metric spanning its devices, then the device names
    const top: string[] = [], rules: string[] = [];
    for (let i = 0; i < t.columns.length;) {
      const c = t.columns[i];
      let j = i + 1;
      while (c.device && j < t.columns.length && t.columns[j].id === c.id && t.columns[j].device) j++;
      if (j - i > 1) { top.push(`\\multicolumn{${j - i}}{c}{${texEscape(c.label)}}`); rules.push(`\\cmidrule(lr){${i + 1}-${j}}`); } else top.push(c.device ? texEscape(c.label) : '');
      i = j;
    }
    lines.push(`${top.join(' & ')} \\\\`, rules.join(' '), `${t.columns.map((c) => texEscape(c.device ?? c.label)).join(' & ')} \\\\`);
  } else lines.push(`${t.columns.map((c) => texEscape(c.label)).join(' & ')} \\\\`);
  lines.push('\\midrule', ...t.rows.map((r) => `${r.map(texCell).join(' & ')} \\\\`), '\\bottomrule', '\\end{tabular}');
  const failed = a.notOk.length ? ` ${a.notOk.length} run${a.notOk.length === 1 ? '' : 's'} without status ok ${a.notOk.length === 1 ? 'is' : 'are'} not aggregated.` : '';
  lines.push(`\\caption{${texEscape(t.caption)}${failed}}`, `\\label{tab:${a.name.replace(/[^A-Za-z0-9:.-]/g, '-')}}`, '\\end{table}');
  for (const f of failedLines(a.notOk)) lines.push(`% not aggregated: ${f.run} (seed ${f.seed}, ${f.device}): ${f.status} ${f.error}`.replace(/\n/g, ' ').trimEnd());
  return `${lines.join('\n')}\n`;
}

const htmlEscape = (s: string) => s.replace(/[&<>"]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' } as Record<string, string>)[ch]);
export { htmlEscape };

export function htmlTable(t: Table): string {
  const multi = t.columns.some((c) => c.device);
  let head = '';
  if (multi) {
    const top: string[] = [];
    for (let i = 0; i < t.columns.length;) {
      const c = t.columns[i];
      let j = i + 1;
      while (c.device && j < t.columns.length && t.columns[j].id === c.id && t.columns[j].device) j++;
      top.push(j - i > 1 ? `<th colspan="${j - i}" class="group">${htmlEscape(c.label)}</th>` : `<th rowspan="2" class="${c.align}">${htmlEscape(c.device ? `${c.label} (${c.device})` : c.label)}</th>`);
      i = j;
    }
    const second = t.columns.filter((c, i) => c.device && (t.columns[i - 1]?.id === c.id || t.columns[i + 1]?.id === c.id)).map((c) => `<th class="r">${htmlEscape(c.device!)}</th>`);
    head = `<tr>${top.join('')}</tr><tr>${second.join('')}</tr>`;
  } else head = `<tr>${t.columns.map((c) => `<th class="${c.align}">${htmlEscape(c.label)}</th>`).join('')}</tr>`;
  const body = t.rows.map((r) => `<tr>${r.map((c, i) => `<td class="${t.columns[i].align}">${htmlEscape(plain(c))}</td>`).join('')}</tr>`).join('\n');
  return `<table class="summary">\n<thead>${head}</thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}
