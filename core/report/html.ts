// report.html: one self-contained page (inline CSS and SVG, no external references) with the
// table, the charts, the samples, the experiment file and the environment record.
import type { Chart } from './charts.ts';
import type { Aggregate, ResultsDir } from './data.ts';
import { failedLines, htmlEscape as esc, htmlTable, type Table } from './tables.ts';

export const REPRODUCIBILITY = 'Results are bitwise reproducible only on the same backend and machine (same seed, same thread count); '
  + 'on another backend or machine the losses agree only to floating-point rounding, and timings are specific to this machine.';

const CSS = `
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#1d1d1f;max-width:1180px;margin:2em auto;padding:0 1.2em}
h1{font-size:1.7em;margin-bottom:.2em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ddd;padding-bottom:.2em}
.sub{color:#555;margin-top:0}
table{border-collapse:collapse;margin:.8em 0;font-variant-numeric:tabular-nums}
th,td{padding:.3em .7em;border-bottom:1px solid #e4e4e4;vertical-align:top}
thead th{border-bottom:2px solid #333;background:#fafafa}th.group{text-align:center}
.l{text-align:left}.r{text-align:right;white-space:nowrap}
table.summary tbody tr:hover{background:#f4f8fc}
.caption{color:#444;font-size:.92em;max-width:60em}
.note{background:#fff8e1;border-left:4px solid #f0b400;padding:.6em 1em;margin:1em 0}
figure{margin:1.2em 0;overflow-x:auto}figcaption{color:#555;font-size:.9em}
figure svg{display:block;max-width:none}
pre{background:#f6f6f6;padding:.8em 1em;overflow-x:auto;font-size:.85em;line-height:1.35}
.sample pre{white-space:pre-wrap}
details>summary{cursor:pointer;color:#2f6db5;margin:.4em 0}
.env td:first-child{font-weight:600;white-space:nowrap}
.runs{font-size:.82em}
`;

/** Inline SVG needs no namespace declarations; dropping them keeps the page free of URLs. */
const inlineSvg = (svg: string) => svg.replace(/\s+xmlns(:xlink)?="[^"]*"/g, '');

export function environmentRows(meta: Record<string, any> | null): [string, string][] {
  if (!meta) return [];
  const out: [string, string][] = [];
  const add = (k: string, v: unknown) => { if (v !== undefined && v !== null && v !== '') out.push([k, typeof v === 'string' ? v : JSON.stringify(v)]); };
  add('commit', meta.commit ? `${meta.commit}${meta.commit_dirty ? ' (with uncommitted changes)' : ''}` : 'unknown (not a git checkout)');
  add('lockfile sha256', meta.lockfile_sha256);
  add('nanolab', meta.nanolab);
  add('node', meta.node);
  if (meta.packages) add('packages', Object.entries(meta.packages).map(([k, v]) => `${k} ${v ?? '?'}`).join(', '));
  if (meta.backends) add('backends', Object.entries(meta.backends).filter(([, v]) => v).map(([k, v]) => `${k}: ${v}`).join(', '));
  const n = meta.native;
  if (n) add('native backend', n.ok === false ? `unavailable (${n.reason ?? '?'})` : `${n.version ?? '?'}, gemm kernel ${n.gemm_kernel ?? '?'}, ${n.threads ?? '?'} threads${Array.isArray(n.precisions) ? `, precisions ${n.precisions.join(', ')}` : ''}`);
  add('cpu', meta.cpu ? `${meta.cpu}${meta.cpu_cores ? `, ${meta.cpu_cores} cores` : ''}` : undefined);
  add('memory', meta.memory_gib !== undefined ? `${meta.memory_gib} GiB` : undefined);
  const g = meta.gpu;
  add('gpu', g ? (typeof g === 'string' ? g : `${g.name}${g.driver ? `, driver ${g.driver}` : ''}${g.memory ? `, ${g.memory}` : ''}${g.count > 1 ? ` (${g.count} GPUs)` : ''}`) : 'none');
  add('os', meta.os);
  add('started', meta.started);
  add('finished', meta.finished);
  add('status', meta.status);
  return out;
}

/** One sample per rung/variant in view (its first run); the other seeds' samples folded away. */
function sampleSections(a: Aggregate, samples: ResultsDir['samples']): string[] {
  const byId = new Map(samples.map((s) => [s.runId, s]));
  const pre = (s: ResultsDir['samples'][number]) => `<pre>${esc(s.text)}</pre>`;
  const out: string[] = [];
  for (const g of a.groups) {
    const mine = g.rows.map((r) => byId.get(r.run_id)).filter((s) => s !== undefined);
    if (!mine.length) continue;
    const [first, ...more] = mine;
    out.push(`<div class="sample"><h4>${esc(g.label)} <small>(${esc(first.run)}, ${esc(first.runId)})</small></h4>${pre(first)}${more.length
      ? `<details><summary>${more.length} more (other seeds or devices)</summary>${more.map((s) => `<h5>${esc(s.run)} <small>(${esc(s.runId)})</small></h5>${pre(s)}`).join('')}</details>` : ''}</div>`);
  }
  return out;
}

export function reportHtml(res: ResultsDir, a: Aggregate, t: Table, charts: Chart[]): string {
  const exp = res.experiment ?? {};
  const failed = failedLines(a.notOk);
  const samples = res.samples;
  const cols = res.rows.length ? Object.keys(res.rows[0]) : [];
  const parts = [
    '<!DOCTYPE html>', '<html lang="en">', '<head>', '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${esc(a.name)}: nanolab report</title>`, `<style>${CSS}</style>`, '</head>', '<body>',
    `<h1>${esc(a.name)}</h1>`,
    exp.description ? `<p class="sub">${esc(String(exp.description))}</p>` : '',
    `<p class="sub">${res.rows.length} runs${res.meta?.finished ? `, finished ${esc(String(res.meta.finished))}` : ''}${res.meta?.status ? ` (${esc(String(res.meta.status))})` : ''}.</p>`,
    `<p class="note" id="reproducibility">${esc(REPRODUCIBILITY)}</p>`,
    '<h2 id="summary">Summary</h2>', htmlTable(t), `<p class="caption">${esc(t.caption)}</p>`,
    failed.length ? `<h3>Not aggregated</h3>\n<table class="failed"><thead><tr><th class="l">run</th><th class="r">seed</th><th class="l">device</th><th class="l">status</th><th class="r">steps</th><th class="l">error</th></tr></thead><tbody>${failed.map((f) => `<tr><td>${esc(f.run)}</td><td class="r">${esc(f.seed)}</td><td>${esc(f.device)}</td><td>${esc(f.status)}</td><td class="r">${esc(f.steps)}</td><td>${esc(f.error)}</td></tr>`).join('')}</tbody></table>` : '',
    ...[...a.warnings, ...t.warnings].map((w) => `<p class="note">${esc(w)}</p>`),
    '<h2 id="charts">Charts</h2>',
    ...charts.map((c) => `<figure class="chart" data-file="charts/${esc(c.file)}">\n${inlineSvg(c.svg)}\n<figcaption>${esc(c.title)} (charts/${esc(c.file)})</figcaption></figure>`),
    samples.length ? '<h2 id="samples">Samples</h2>' : '',
    ...sampleSections(a, res.samples),
    '<h2 id="environment">Environment</h2>',
    `<table class="env"><tbody>${environmentRows(res.meta).map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`).join('')}</tbody></table>`,
    `<p>${esc(REPRODUCIBILITY)}</p>`,
    res.meta ? `<details><summary>meta.json</summary><pre>${esc(JSON.stringify(res.meta, null, 2))}</pre></details>` : '',
    res.experimentText ? `<h2 id="experiment">Experiment file</h2>\n<pre>${esc(res.experimentText)}</pre>` : '',
    '<h2 id="runs">All runs</h2>',
    `<details><summary>results.csv (${res.rows.length} rows)</summary><table class="runs"><thead><tr>${cols.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead><tbody>${res.rows.map((r) => `<tr>${cols.map((c) => `<td>${esc(r[c] ?? '')}</td>`).join('')}</tr>`).join('')}</tbody></table></details>`,
    '</body>', '</html>', '',
  ];
  return parts.filter((p) => p !== '').join('\n');
}
