// Charts as Vega-Lite specs, compiled and rendered to SVG by Vega in Node (renderer 'none':
// no browser, no canvas). vega and vega-lite are loaded with import() because vega-canvas uses
// top-level await, which the CommonJS transform of the test runner cannot load statically.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import type { Aggregate } from './data.ts';

export interface Chart { file: string; title: string; svg: string }

type Spec = Record<string, unknown>;

const CONFIG = { font: 'Helvetica, Arial, sans-serif', view: { stroke: '#ddd' }, axis: { labelFontSize: 11, titleFontSize: 12 }, title: { fontSize: 14, anchor: 'start' } };

function valLossSpec(a: Aggregate): Spec | null {
  const multi = a.devices.length > 1;
  const bars: Record<string, unknown>[] = [], points: Record<string, unknown>[] = [];
  for (const g of a.groups) {
    for (const d of a.devices) {
      const s = g.byDevice[d].stats.val_loss;
      if (!s.n) continue;
      const e = Number.isFinite(s.std) ? s.std : 0;
      bars.push({ variant: g.label, device: d, mean: s.mean, lo: s.mean - e, hi: s.mean + e, n: s.n });
      for (const r of g.rows) if (r.device === d && r.status === 'ok' && r.val_loss !== '') points.push({ variant: g.label, device: d, val: Number(r.val_loss), seed: r.seed });
    }
  }
  if (!bars.length) return null;
  const order = a.groups.map((g) => g.label);
  const x = { field: 'variant', type: 'nominal', sort: order, title: a.hasLadder ? 'rung' : 'variant', axis: { labelAngle: -40, labelLimit: 160 } };
  const dev = multi ? { xOffset: { field: 'device', type: 'nominal' }, color: { field: 'device', type: 'nominal', title: 'device' } } : {};
  return {
    title: bars.some((b) => (b.n as number) > 1) ? `Validation loss (mean ± std over seeds): ${a.name}` : `Validation loss: ${a.name}`,
    width: { step: multi ? 44 : 32 }, height: 300,
    layer: [
      { data: { values: bars }, mark: { type: 'bar', color: '#7aa6d6' }, encoding: { x, y: { field: 'mean', type: 'quantitative', title: 'val loss' }, ...dev } },
      { data: { values: points }, mark: { type: 'point', filled: true, size: 12, color: '#555', opacity: 0.6 }, encoding: { x, y: { field: 'val', type: 'quantitative' }, ...(multi ? { xOffset: dev.xOffset } : {}) } },
      { data: { values: bars }, mark: { type: 'errorbar', ticks: { color: '#111', size: 8 }, rule: { color: '#111', strokeWidth: 1.5 } }, encoding: { x, y: { field: 'lo', type: 'quantitative', title: 'val loss' }, y2: { field: 'hi' }, ...(multi ? { xOffset: dev.xOffset } : {}) } },
    ],
  };
}

function curvePoints(a: Aggregate, dir: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const g of a.groups) {
    for (const r of g.rows) {
      const p = join(dir, 'curves', `${r.run_id}.csv`);
      if (!existsSync(p)) continue;
      const rows = parse(readFileSync(p, 'utf8'), { columns: true, skip_empty_lines: true }) as Record<string, string>[];
      for (const c of rows) {
        for (const split of ['train', 'val'] as const) {
          const v = Number(c[`${split}_loss`]);
          if (c[`${split}_loss`] !== '' && Number.isFinite(v)) out.push({ variant: g.label, run: r.run_id, seed: r.seed, device: r.device, step: Number(c.step), split, loss: v });
        }
      }
    }
  }
  return out;
}

function curvesSpec(a: Aggregate, points: Record<string, unknown>[]): Spec | null {
  if (!points.length) return null;
  const labels = a.groups.map((g) => g.label).filter((l) => points.some((p) => p.variant === l));
  const multi = a.devices.length > 1;
  return {
    title: `Loss curves per run (train and val; one line per seed${multi ? ' and device' : ''})`,
    data: { values: points },
    facet: { field: 'variant', type: 'nominal', sort: labels, title: null, header: { labelFontSize: 12, labelLimit: 200 } },
    columns: Math.min(4, labels.length),
    spec: {
      width: 200, height: 140,
      mark: { type: 'line', strokeWidth: 1.2, opacity: 0.85 },
      encoding: {
        x: { field: 'step', type: 'quantitative', title: 'step' },
        y: { field: 'loss', type: 'quantitative', title: 'loss', scale: { zero: false } },
        color: { field: 'split', type: 'nominal', title: 'split', scale: { domain: ['train', 'val'], range: ['#e8833a', '#2f6db5'] } },
        detail: { field: 'run', type: 'nominal' },
        strokeDash: multi ? { field: 'device', type: 'nominal', title: 'device' } : { field: 'split', type: 'nominal', legend: null, scale: { domain: ['train', 'val'], range: [[4, 2], [1, 0]] } },
      },
    },
    resolve: { scale: { y: 'shared' } },
  };
}

function valCurvesSpec(a: Aggregate, points: Record<string, unknown>[]): Spec | null {
  const val = points.filter((p) => p.split === 'val');
  const labels = a.groups.map((g) => g.label).filter((l) => val.some((p) => p.variant === l));
  if (labels.length < 2) return null;
  return {
    title: 'Validation loss during training (mean over seeds)',
    data: { values: val }, width: 520, height: 300,
    mark: { type: 'line', point: { size: 20 } },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'step' },
      y: { aggregate: 'mean', field: 'loss', type: 'quantitative', title: 'val loss', scale: { zero: false } },
      color: { field: 'variant', type: 'nominal', sort: labels, title: a.hasLadder ? 'rung' : 'variant', scale: { scheme: labels.length > 10 ? 'category20' : 'tableau10' } },
      ...(a.devices.length > 1 ? { strokeDash: { field: 'device', type: 'nominal' } } : {}),
    },
  };
}

function speedSpec(a: Aggregate): Spec | null {
  const values: Record<string, unknown>[] = [];
  for (const g of a.groups) {
    for (const d of a.devices) {
      const s = g.byDevice[d].stats.ms_per_step;
      if (s.n && s.mean > 0 && g.params > 0) values.push({ variant: g.label, device: d, params: g.params, ms: s.mean });
    }
  }
  if (!values.length) return null;
  // one label per cluster of nearby points (same size, similar time), stacked, so they do not overprint
  const labels: { device: unknown; params: number; ms: number; text: string[] }[] = [];
  for (const v of values) {
    const near = labels.find((l) => Math.abs(Math.log10(l.params / (v.params as number))) < 0.04 && Math.abs(Math.log10(l.ms / (v.ms as number))) < 0.08);
    if (near) near.text.push(String(v.variant)); else labels.push({ device: v.device, params: v.params as number, ms: v.ms as number, text: [String(v.variant)] });
  }
  const enc = {
    x: { field: 'params', type: 'quantitative', title: 'parameters (log)', scale: { type: 'log', nice: false, padding: 20 } },
    y: { field: 'ms', type: 'quantitative', title: 'ms/step, median per run, mean over seeds (log)', scale: { type: 'log', padding: 20 } },
    color: { field: 'device', type: 'nominal', title: 'device', scale: { domain: ['cpu', 'gpu'], range: ['#2f6db5', '#3a9a4a'] } },
  };
  return {
    title: 'Time per training step by device and model size',
    data: { values }, width: 520, height: 320,
    layer: [
      { mark: { type: 'point', filled: true, size: 60 }, encoding: { ...enc, shape: { field: 'device', type: 'nominal' } } },
      { data: { values: labels }, mark: { type: 'text', align: 'left', baseline: 'middle', dx: 7, fontSize: 10, color: '#444' }, encoding: { x: enc.x, y: enc.y, text: { field: 'text' } } },
    ],
  };
}

/** Makes element ids unique per chart, so several SVGs can live in one HTML page. */
function scopeIds(svg: string, prefix: string): string {
  return svg.replace(/\bid="([^"]+)"/g, `id="${prefix}-$1"`).replace(/url\(#([^)]+)\)/g, `url(#${prefix}-$1)`).replace(/href="#([^"]+)"/g, `href="#${prefix}-$1"`);
}

export async function renderSvg(spec: Spec, prefix: string): Promise<string> {
  const [vega, vl] = await Promise.all([import('vega'), import('vega-lite')]);
  const compiled = vl.compile({ $schema: 'https://vega.github.io/schema/vega-lite/v6.json', background: 'white', padding: 8, config: CONFIG, ...spec } as any).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return scopeIds(await view.toSVG(), prefix);
  } finally {
    view.finalize();
  }
}

export async function buildCharts(a: Aggregate, dir: string): Promise<Chart[]> {
  const points = curvePoints(a, dir);
  const specs: [string, string, Spec | null][] = [
    ['val_loss.svg', 'Validation loss per rung/variant', valLossSpec(a)],
    ['val_curves.svg', 'Validation loss during training', valCurvesSpec(a, points)],
    ['curves.svg', 'Loss curves per run', curvesSpec(a, points)],
    ['ms_per_step.svg', 'Step time by device and size', speedSpec(a)],
  ];
  const out: Chart[] = [];
  for (const [file, title, spec] of specs) if (spec) out.push({ file, title, svg: await renderSvg(spec, file.replace(/\.svg$/, '').replace(/_/g, '-')) });
  return out;
}
