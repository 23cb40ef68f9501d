import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadExperiment } from '../core/config/validate.ts';
import { run } from '../core/run.ts';
import { cli, tempDir } from './helpers.ts';

// A 2-rung ladder (one block, then two) with 3 seeds, small enough to train in a few seconds.
function experiment(extra = '', sweep = 'seeds: [1, 2, 3]'): string {
  const dir = tempDir();
  writeFileSync(join(dir, 'text.txt'), 'First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n'.repeat(40));
  const file = join(dir, 'exp.yaml');
  writeFileSync(file, `name: tiny-report
description: two rungs, three seeds
data: {path: text.txt}
model:
  vars: {n_embd: 16, n_head: 2, n_layer: 1, block_size: 8}
  layers:
    - token_embedding: {dim: $n_embd}
    - position_embedding: {}
    - repeat: $n_layer
      layers:
        - block: {attention: {n_head: $n_head}, feed_forward: {}}
    - layer_norm: {}
    - lm_head: {}
train: {steps: 24, batch_size: 8, optimizer: {adamw: {lr: 3.0e-3}}, eval: {interval: 8, iters: 2}}
output: {sample_chars: 20}
sweep:
  ladder:
    - one_block: {}
    - two_blocks: {n_layer: 2}
  ${sweep}
${extra}`);
  return file;
}

type Rec = Record<string, string>;
const csv = (dir: string) => parse(readFileSync(join(dir, 'results.csv'), 'utf8'), { columns: true }) as Rec[];

/** The Markdown table's body rows as cells, keyed by the header. */
function mdTable(md: string): Rec[] {
  const lines = md.split('\n').filter((l) => l.startsWith('|'));
  const cells = (l: string) => l.slice(1, -1).split(' | ').map((c) => c.trim());
  const head = cells(lines[0]);
  return lines.slice(2).map((l) => Object.fromEntries(cells(l).map((c, i) => [head[i], c])));
}

// independent of core/report: the sample standard deviation, written out
function meanStd(xs: number[]): { mean: number; std: number } {
  let sum = 0;
  for (const x of xs) sum += x;
  const mean = sum / xs.length;
  let ss = 0;
  for (const x of xs) ss += (x - mean) * (x - mean);
  return { mean, std: Math.sqrt(ss / (xs.length - 1)) };
}
const signed = (x: number) => `${x < 0 ? '-' : '+'}${Math.abs(x).toFixed(4)}`;

let swept: Promise<string> | null = null;
/** The tiny sweep, trained once and shared by the tests below. */
function sweepDir(): Promise<string> {
  swept ??= (async () => {
    const out = join(tempDir(), 'out');
    const r = await cli([experiment(), '--out', out]);
    assert.is(r.code, 0, r.err);
    assert.match(r.out, /report in .*report\.html/);
    return out;
  })();
  return swept;
}

test('a sweep ends with table.md: mean ± sample std over n=3 seeds and deltas from the CSV numbers', async () => {
  const out = await sweepDir();
  const rows = csv(out);
  assert.is(rows.length, 6);
  const table = mdTable(readFileSync(join(out, 'table.md'), 'utf8'));
  assert.equal(table.map((r) => r.variant), ['one_block', 'two_blocks'], 'one row per rung, in ladder order');
  const stats = ['one_block', 'two_blocks'].map((rung) => meanStd(rows.filter((r) => r.rung === rung).map((r) => Number(r.val_loss))));
  for (const [i, s] of stats.entries()) {
    assert.is(table[i].n, '3');
    assert.is(table[i]['val loss'], `${s.mean.toFixed(4)} ± ${s.std.toFixed(4)}`);
    const ok = rows.filter((r) => r.rung === table[i].variant);
    assert.is(table[i].params, Number(ok[0].params).toLocaleString('en-US'));
    const ms = meanStd(ok.map((r) => Number(r.ms_per_step_median)));
    assert.ok(table[i]['ms/step'].startsWith(ms.mean.toFixed(ms.mean >= 10 ? 2 : 3)), table[i]['ms/step']);
  }
  assert.is(table[0]['Δ prev'], '—');
  assert.is(table[0]['Δ base'], '—');
  assert.is(table[1]['Δ prev'], signed(stats[1].mean - stats[0].mean));
  assert.is(table[1]['Δ base'], signed(stats[1].mean - stats[0].mean));
  const md = readFileSync(join(out, 'table.md'), 'utf8');
  assert.match(md, /bitwise reproducible only on the same backend and machine/);
  assert.match(md, /- commit: /);
  assert.not.match(md, /Not aggregated/);
});

test('table.tex is a booktabs table with the same numbers', async () => {
  const out = await sweepDir();
  const tex = readFileSync(join(out, 'table.tex'), 'utf8');
  for (const s of ['\\begin{tabular}{lrrrrrrr}', '\\toprule', '\\midrule', '\\bottomrule', '\\end{table}', '\\label{tab:tiny-report}']) assert.ok(tex.includes(s), s);
  const rows = csv(out);
  const s = meanStd(rows.filter((r) => r.rung === 'two_blocks').map((r) => Number(r.val_loss)));
  assert.ok(tex.includes(`two\\_blocks & 3 & $${s.mean.toFixed(4)} \\pm ${s.std.toFixed(4)}$`), tex);
  assert.not.match(tex, /[^\\]_[a-z]/, 'underscores are escaped');
});

test('charts are SVGs rendered without a browser, and report.html is self-contained', async () => {
  const out = await sweepDir();
  const charts = readdirSync(join(out, 'charts')).sort();
  assert.equal(charts, ['curves.svg', 'ms_per_step.svg', 'val_curves.svg', 'val_loss.svg']);
  for (const c of charts) {
    const svg = readFileSync(join(out, 'charts', c), 'utf8');
    assert.match(svg, /^<svg [^>]*width="\d+" height="\d+"/, c);
    assert.ok(svg.length > 2000, `${c} has marks`);
  }
  assert.match(readFileSync(join(out, 'charts', 'val_loss.svg'), 'utf8'), /two_blocks/);
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  assert.not.match(html, /https?:\/\//, 'no external URLs');
  assert.not.match(html, /<(script|link|img)\b/, 'nothing loaded from elsewhere');
  assert.is((html.match(/<figure class="chart"/g) ?? []).length, 4);
  assert.is((html.match(/<svg /g) ?? []).length, 4);
  assert.match(html, /<table class="summary">/);
  assert.match(html, /bitwise reproducible only on the same backend and machine/);
  assert.match(html, /n_layer: 2/, 'the experiment file');
  assert.match(html, /lockfile sha256/, 'the environment record');
  const samples = JSON.parse(readFileSync(join(out, 'samples.json'), 'utf8')) as { text: string }[];
  assert.ok(html.includes(samples[0].text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')), 'samples');
});

test('meta.json names commit, lockfile, packages, backend, CPU and GPU', async () => {
  const meta = JSON.parse(readFileSync(join(await sweepDir(), 'meta.json'), 'utf8'));
  for (const k of ['commit', 'lockfile_sha256', 'packages', 'backends', 'native', 'cpu', 'cpu_cores', 'gpu']) assert.ok(k in meta, k);
  assert.match(meta.lockfile_sha256, /^[0-9a-f]{64}$/);
  assert.ok(meta.packages.vega && meta.packages['vega-lite'] && meta.packages['csv-stringify'], JSON.stringify(meta.packages));
  if (meta.backends.cpu === 'native') assert.ok(meta.native.version && meta.native.gemm_kernel && meta.native.threads > 0, JSON.stringify(meta.native));
});

test('report <dir>: failed rows are listed, not aggregated; report.columns and report.baseline apply', async () => {
  const dir = join(tempDir(), 'copy');
  cpSync(await sweepDir(), dir, { recursive: true });
  const rows = csv(dir);
  const bad = rows.find((r) => r.rung === 'two_blocks' && r.seed === '2')!;
  bad.status = 'diverged'; bad.error = 'loss became NaN at step 3';
  writeFileSync(join(dir, 'results.csv'), stringify(rows, { header: true, columns: Object.keys(rows[0]) }));
  writeFileSync(join(dir, 'experiment.yaml'), `${readFileSync(join(dir, 'experiment.yaml'), 'utf8')}\nreport: {columns: [rung, n, val_loss, delta_base, train_loss], baseline: two_blocks}\n`);
  const r = await cli(['report', dir]);
  assert.is(r.code, 0, r.err);
  const md = readFileSync(join(dir, 'table.md'), 'utf8');
  const table = mdTable(md);
  assert.equal(Object.keys(table[0]), ['rung', 'n', 'val loss', 'Δ base', 'train loss']);
  assert.equal(table.map((t) => t.n), ['3', '2']);
  const two = meanStd(rows.filter((x) => x.rung === 'two_blocks' && x.status === 'ok').map((x) => Number(x.val_loss)));
  const one = meanStd(rows.filter((x) => x.rung === 'one_block').map((x) => Number(x.val_loss)));
  assert.is(table[1]['val loss'], `${two.mean.toFixed(4)} ± ${two.std.toFixed(4)}`);
  assert.is(table[0]['Δ base'], signed(one.mean - two.mean), 'against the configured baseline');
  assert.is(table[1]['Δ base'], '—');
  assert.match(md, /Not aggregated \(1 run without status ok\)/);
  assert.match(md, /two_blocks\/seed=2 \(seed 2, cpu\): diverged after \d+ steps: loss became NaN at step 3/);
  assert.match(readFileSync(join(dir, 'report.html'), 'utf8'), /loss became NaN at step 3/);
  assert.match(readFileSync(join(dir, 'table.tex'), 'utf8'), /1 run without status ok is not aggregated/);
});

test('with a device axis, CPU and GPU sit side by side with a speedup', async () => {
  const dir = join(tempDir(), 'dev');
  cpSync(await sweepDir(), dir, { recursive: true });
  const rows = csv(dir);
  // the same runs "on a GPU" four times faster per step (synthetic: no GPU needed)
  const gpu = rows.map((r) => ({ ...r, run: r.run.replace(/\/seed=/, '/gpu/seed='), device: 'gpu', backend: 'cuda', ms_per_step_median: String(Number(r.ms_per_step_median) / 4) }));
  const cpu = rows.map((r) => ({ ...r, run: r.run.replace(/\/seed=/, '/cpu/seed=') }));
  writeFileSync(join(dir, 'results.csv'), stringify([...cpu, ...gpu], { header: true, columns: Object.keys(rows[0]) }));
  const r = await cli(['report', dir]);
  assert.is(r.code, 0, r.err);
  const table = mdTable(readFileSync(join(dir, 'table.md'), 'utf8'));
  assert.equal(table.map((t) => t.variant), ['one_block', 'two_blocks']);
  for (const k of ['val loss (cpu)', 'val loss (gpu)', 'ms/step (cpu)', 'ms/step (gpu)', 'tokens/s (cpu)', 'n (gpu)']) assert.ok(k in table[0], k);
  assert.is(table[0]['speedup gpu/cpu'], '4.00×');
  const tex = readFileSync(join(dir, 'table.tex'), 'utf8');
  assert.match(tex, /\\multicolumn\{2\}\{c\}\{ms\/step\}/);
  assert.match(tex, /\\cmidrule\(lr\)/);
  assert.match(readFileSync(join(dir, 'charts', 'ms_per_step.svg'), 'utf8'), />gpu</);
});

test('report: a missing directory or bad arguments exit 2', async () => {
  assert.is((await cli(['report', join(tempDir(), 'nothing')])).code, 2);
  const r = await cli(['report']);
  assert.is(r.code, 2);
  assert.match(r.err, /usage: runner.ts report <results dir>/);
});

test('report settings are checked before training and never change run ids', async () => {
  const out = join(tempDir(), 'out');
  let r = await cli([experiment('report: {columns: [variant, val_los]}'), '--out', out]);
  assert.is(r.code, 2);
  assert.match(r.err, /exp\.yaml:\d+:\d+: report\.columns\[1\]: unknown column 'val_los'/);
  assert.not.ok(existsSync(out));
  r = await cli([experiment('report: {baseline: three_blocks}'), '--out', out]);
  assert.is(r.code, 2);
  assert.match(r.err, /report\.baseline: 'three_blocks' is neither a rung nor a run/);
  r = await cli([experiment('report: {colums: [n]}'), '--out', out]);
  assert.is(r.code, 2);
  assert.match(r.err, /colums/);
  const ids = (f: string) => loadExperiment(f, { skipModel: true }).runs.map((x) => x.id);
  assert.equal(ids(experiment('report: {baseline: two_blocks, columns: [variant, n]}')), ids(experiment()));
});

test('--dry-run estimates each run from a few calibration steps and prints the total', async () => {
  const out = join(tempDir(), 'out');
  const r = await cli([experiment(), '--out', out, '--dry-run']);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /steps\s+est\n/);
  const est = r.out.split('\n').filter((l) => /seed=\d/.test(l)).map((l) => l.trim().split(/\s+/).at(-1));
  assert.is(est.length, 6);
  for (const e of est) assert.match(e!, /^\d+:\d\d$/);
  assert.match(r.out, /estimated total: \d+:\d\d for 6 runs \(2 model shapes calibrated in [\d.]+ s\)/);
  assert.not.ok(existsSync(out));
});

test('on a terminal: a bar for the sweep and one for the current run; --quiet prints none', async () => {
  const file = experiment('', 'seeds: [1]');
  const drive = async (argv: string[]) => {
    let out = '';
    const code = await run(argv, { out: (s) => { out += s; }, err: () => {}, isTTY: true, cwd: process.cwd() });
    return { code, out };
  };
  const r = await drive([file, '--out', join(tempDir(), 'out'), '--steps', '12']);
  assert.is(r.code, 0);
  assert.match(r.out, /sweep \|[█░]+\| 2\/2 runs \| \d+:\d\d elapsed \| ETA 0:00/);
  assert.match(r.out, /run {3}\|[█░]+\| 12\/12 steps \| loss \d\.\d{4} \| [\d,]+ tok\/s \| \[2\/2\] two_blocks/);
  assert.match(r.out, /\[1\/2\] one_block step 12: train/);
  const q = await drive([file, '--out', join(tempDir(), 'out'), '--steps', '12', '--quiet']);
  assert.is(q.code, 0);
  assert.is(q.out, '');
});

const hasPdflatex = (() => { try { execFileSync('pdflatex', ['--version'], { stdio: 'ignore' }); return true; } catch { return false; } })();
const pdflatexTest = 'table.tex compiles with pdflatex';
if (hasPdflatex) {
  test(pdflatexTest, async () => {
    const dir = join(tempDir(), 'tex');
    cpSync(await sweepDir(), dir, { recursive: true });
    writeFileSync(join(dir, 'doc.tex'), '\\documentclass{article}\n\\usepackage{booktabs}\n\\begin{document}\n\\input{table.tex}\n\\end{document}\n');
    try {
      execFileSync('pdflatex', ['-interaction=nonstopmode', '-halt-on-error', 'doc.tex'], { cwd: dir, stdio: 'pipe', timeout: 60000 });
    } catch (e) {
      assert.unreachable(`pdflatex failed:\n${String((e as { stdout?: Buffer }).stdout ?? e).slice(-2000)}`);
    }
    assert.ok(existsSync(join(dir, 'doc.pdf')));
  });
} else {
  console.log(`skipped: pdflatex not installed (${pdflatexTest})`);
  test.skip(pdflatexTest, () => {});
}

const CHROMIUM = '/usr/bin/chromium';
const browserTest = 'report.html renders in headless Chromium: tables and every chart have a size';
if (existsSync(CHROMIUM)) {
  test(browserTest, async () => {
    const out = await sweepDir();
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    try {
      const page = await browser.newPage();
      const requests: string[] = [];
      page.on('request', (q) => requests.push(q.url()));
      await page.goto(`file://${join(out, 'report.html')}`);
      const summary = await page.$$eval('table.summary tbody tr', (trs) => trs.map((tr) => tr.children[0].textContent));
      assert.equal(summary, ['one_block', 'two_blocks']);
      const box = await page.locator('table.summary').boundingBox();
      assert.ok(box && box.width > 0 && box.height > 0, 'the summary table is laid out');
      const charts = await page.$$eval('figure.chart', (fs) => fs.map((f) => {
        const svg = f.querySelector('svg');
        const r = svg?.getBoundingClientRect();
        return { file: f.getAttribute('data-file'), w: r?.width ?? 0, h: r?.height ?? 0, marks: svg?.querySelectorAll('path, line, rect, circle').length ?? 0 };
      }));
      assert.equal(charts.map((c) => c.file).sort(), readdirSync(join(out, 'charts')).map((f) => `charts/${f}`).sort());
      for (const c of charts) assert.ok(c.w > 50 && c.h > 50 && c.marks > 10, JSON.stringify(c));
      assert.equal(requests.filter((u) => !u.startsWith('file://')), [], 'no network requests');
    } finally {
      await browser.close();
    }
  });
} else {
  console.log(`skipped: ${CHROMIUM} not installed (${browserTest})`);
  test.skip(browserTest, () => {});
}

test.run();
