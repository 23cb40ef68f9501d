// Reads a results directory and aggregates its rows: one group per rung/variant (everything
// but seed and device), statistics over the seeds of each device, deltas against the previous
// rung and the baseline. Pure data; the tables and charts only format it.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import YAML from 'yaml';
import { expandSweep } from '../config/expand.ts';
import { LEADING_COLUMNS, TRAILING_COLUMNS } from '../results/columns.ts';

export type CsvRow = Record<string, string>;

export interface ReportConfig { columns?: string[]; baseline?: string }

export interface ResultsDir {
  dir: string;
  rows: CsvRow[];
  axisNames: string[];
  /** the experiment file as the sweep saw it (experiment.yaml), parsed; null when absent or unreadable */
  experiment: any;
  experimentText: string;
  meta: Record<string, any> | null;
  samples: { run: string; runId: string; text: string }[];
}

export function readResultsDir(dir: string): ResultsDir {
  const csvPath = join(dir, 'results.csv');
  if (!existsSync(csvPath)) throw new Error(`${dir} has no results.csv (is it a nanolab results directory?)`);
  let header: string[] = [];
  const rows = parse(readFileSync(csvPath, 'utf8'), {
    columns: (h: string[]) => (header = h), skip_empty_lines: true, relax_column_count: true,
  }) as CsvRow[];
  const known = new Set([...LEADING_COLUMNS, ...TRAILING_COLUMNS]);
  const read = (f: string) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'utf8') : '');
  const experimentText = read('experiment.yaml');
  let experiment: any = null;
  try { experiment = experimentText ? YAML.parse(experimentText) : null; } catch { /* a report without the file's extras */ }
  let meta = null, samples = [];
  try { meta = JSON.parse(read('meta.json') || 'null'); } catch { /* optional */ }
  try { samples = JSON.parse(read('samples.json') || '[]'); } catch { /* optional */ }
  return { dir, rows, axisNames: header.filter((h) => !known.has(h)), experiment, experimentText, meta, samples };
}

export interface Stat { n: number; mean: number; std: number }

/** Mean and sample (n-1) standard deviation; std is NaN below two values. */
export function stat(xs: number[]): Stat {
  const v = xs.filter(Number.isFinite);
  const n = v.length;
  if (!n) return { n: 0, mean: NaN, std: NaN };
  const mean = v.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : NaN;
  return { n, mean, std };
}

/** Per-device metrics, each aggregated over that device's ok rows (seeds). */
export const METRICS = {
  val_loss: 'val_loss', train_loss: 'train_loss', best_val_loss: 'best_val_loss',
  ms_per_step: 'ms_per_step_median', ms_per_step_p95: 'ms_per_step_p95', tokens_per_s: 'tokens_per_s', wall_s: 'wall_s',
} as const;
export type Metric = keyof typeof METRICS;

export interface DeviceStats { n: number; stats: Record<Metric, Stat>; deltaPrev: number; deltaBase: number }

export interface Group {
  key: string;
  /** what the tables call the row: the run name without seed and device ('' -> experiment name) */
  label: string;
  rung: string;
  axes: Record<string, string>;
  params: number;
  rows: CsvRow[];
  byDevice: Record<string, DeviceStats>;
  prev: Group | null;
  base: Group | null;
}

export interface Aggregate {
  name: string;
  groups: Group[];
  devices: string[];
  hasLadder: boolean;
  baseline: string;
  /** rows not aggregated (status other than ok) */
  notOk: CsvRow[];
  axisNames: string[];
  config: ReportConfig;
  warnings: string[];
}

/** The group key of a run name: drops the trailing /seed=N and /<device> parts expansion adds. */
export function groupKey(name: string, device: string, stripDevice: boolean): string {
  let k = name.replace(/(^|\/)seed=\d+$/, '');
  if (stripDevice && (k === device || k.endsWith(`/${device}`))) k = k.slice(0, Math.max(0, k.length - device.length - 1));
  return k;
}

/** Run names in sweep order, from the saved experiment file (null when it cannot be expanded). */
function sweepOrder(experiment: any): string[] | null {
  if (!experiment || typeof experiment !== 'object') return null;
  try {
    const e = expandSweep(structuredClone(experiment));
    return e.issues.length ? null : e.runs.map((r) => `${r.name}\u0000${r.device}`);
  } catch { return null; }
}

export function aggregate(res: ResultsDir): Aggregate {
  const exp = res.experiment ?? {};
  const config: ReportConfig = exp.report && typeof exp.report === 'object' ? exp.report : {};
  const name = String(res.rows[0]?.experiment ?? exp.name ?? 'experiment');
  const devOrder = ['cpu', 'gpu'];
  const devices = [...new Set(res.rows.map((r) => r.device))].sort((a, b) => devOrder.indexOf(a) - devOrder.indexOf(b));
  const sweepDevices = Array.isArray(exp.sweep?.devices) ? exp.sweep.devices.length : 1;
  const stripDevice = devices.length > 1 || sweepDevices > 1;
  const hasLadder = Array.isArray(exp.sweep?.ladder) || res.rows.some((r) => r.rung);
  const warnings: string[] = [];

  // group order: the sweep's (ladder order, then axes), else first appearance in the CSV
  const order = new Map<string, number>();
  for (const entry of sweepOrder(exp) ?? []) {
    const [n, d] = entry.split('\u0000');
    const k = groupKey(n, d, stripDevice);
    if (!order.has(k)) order.set(k, order.size);
  }
  const groups = new Map<string, Group>();
  for (const r of res.rows) {
    const key = groupKey(r.run, r.device, stripDevice);
    let g = groups.get(key);
    if (!g) {
      const axes = Object.fromEntries(res.axisNames.map((a) => [a, r[a] ?? '']));
      g = { key, label: key || name, rung: r.rung ?? '', axes, params: NaN, rows: [], byDevice: {}, prev: null, base: null };
      groups.set(key, g);
      if (!order.has(key)) order.set(key, order.size);
    }
    g.rows.push(r);
    const p = Number(r.params);
    if (!Number.isFinite(g.params) && r.params !== '' && Number.isFinite(p)) g.params = p;
  }
  const list = [...groups.values()].sort((a, b) => order.get(a.key)! - order.get(b.key)!);

  for (const g of list) {
    for (const d of devices) {
      const ok = g.rows.filter((r) => r.device === d && r.status === 'ok');
      const stats = Object.fromEntries(Object.entries(METRICS).map(([m, col]) => [m, stat(ok.map((r) => num(r[col])))])) as Record<Metric, Stat>;
      g.byDevice[d] = { n: ok.length, stats, deltaPrev: NaN, deltaBase: NaN };
    }
  }

  // previous rung: the same axes one rung earlier; without a ladder, the previous row
  const rungs = [...new Set(list.map((g) => g.rung))];
  const rest = (g: Group) => (g.rung && g.key.startsWith(g.rung) ? g.key.slice(g.rung.length) : g.key);
  for (const [i, g] of list.entries()) {
    if (hasLadder && rungs.length > 1) {
      const ri = rungs.indexOf(g.rung);
      g.prev = ri > 0 ? list.find((h) => h.rung === rungs[ri - 1] && rest(h) === rest(g)) ?? null : null;
    } else g.prev = i > 0 ? list[i - 1] : null;
  }

  // baseline: a group (run name with or without seed/device), or a rung (same axes), else the first
  let baseline = '';
  const wanted = config.baseline === undefined ? undefined : String(config.baseline);
  const byKey = wanted === undefined ? undefined
    : list.find((g) => g.key === wanted || g.label === wanted || g.rows.some((r) => r.run === wanted || groupKey(wanted, r.device, stripDevice) === g.key));
  if (byKey) {
    for (const g of list) g.base = byKey;
    baseline = byKey.label;
  } else {
    if (wanted !== undefined && !rungs.includes(wanted)) warnings.push(`report.baseline '${wanted}' is neither a rung nor a run of this sweep; using the first row`);
    const rung = wanted !== undefined && rungs.includes(wanted) ? wanted : hasLadder && rungs.length > 1 ? rungs[0] : null;
    for (const g of list) g.base = rung !== null ? list.find((h) => h.rung === rung && rest(h) === rest(g)) ?? null : list[0];
    baseline = rung !== null ? `rung ${rung}` : list[0]?.label ?? '';
  }

  for (const g of list) {
    for (const d of devices) {
      const v = g.byDevice[d].stats.val_loss.mean;
      if (g.prev) g.byDevice[d].deltaPrev = v - g.prev.byDevice[d].stats.val_loss.mean;
      if (g.base && g.base !== g) g.byDevice[d].deltaBase = v - g.base.byDevice[d].stats.val_loss.mean;
    }
  }
  return { name, groups: list, devices, hasLadder, baseline, notOk: res.rows.filter((r) => r.status !== 'ok'), axisNames: res.axisNames, config, warnings };
}

const num = (s: string | undefined) => (s === undefined || s === '' ? NaN : Number(s));
