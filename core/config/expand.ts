// Sweep expansion: ladder rungs (cumulative patches) x grid x zip x devices x seeds -> one
// resolved config per run, with $variables substituted and origins kept for error locations.
import { createHash } from 'node:crypto';
import { didYouMean, type Issue, type Path } from './errors.ts';
import { Origins } from './origins.ts';
import { TOP_LEVEL_KEYS } from './schema.ts';

export interface Axis { name: string; values: unknown[]; kind: 'grid' | 'zip' }

export interface RunPlan {
  /** 1-based position in the sweep */
  index: number;
  /** human-readable: rung/axis=value/.../device/seed=N */
  name: string;
  rung: string;
  axes: Record<string, unknown>;
  seed: number;
  device: string;
  /** the resolved config (defaults filled in by validation) */
  config: any;
  /** stable hash of everything that affects the run's numbers */
  id: string;
}

export interface Expansion { runs: RunPlan[]; axisNames: string[]; issues: Issue[]; origins: Origins }

export interface Overrides { steps?: number; device?: string }

const VAR_REF = /^\$([A-Za-z_][A-Za-z0-9_]*)$/;

/** 'model.layers[2].block' -> ['model', 'layers', 2, 'block'] */
export function parsePathString(s: string): Path {
  const out: Path = [];
  for (const part of s.split('.')) {
    const m = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
    if (!m) { out.push(part); continue; }
    if (m[1]) out.push(m[1]);
    for (const idx of m[2].matchAll(/\[(\d+)\]/g)) out.push(Number(idx[1]));
  }
  return out;
}

/**
 * Where a patch key or axis name points: a dotted path from the top (train.batch_size),
 * vars.x (= model.vars.x), or a bare variable name (n_head = model.vars.n_head).
 */
export function resolveTarget(key: string, vars: Record<string, unknown>): Path | { unknown: string; suggestion: string | null } {
  const p = parsePathString(key);
  if (p[0] === 'vars') return ['model', ...p];
  if (TOP_LEVEL_KEYS.includes(String(p[0]))) return p;
  if (p.length === 1) {
    if (Object.hasOwn(vars, key)) return ['model', 'vars', key];
    return { unknown: key, suggestion: didYouMean(key, [...Object.keys(vars), ...TOP_LEVEL_KEYS]) };
  }
  return { unknown: key, suggestion: didYouMean(String(p[0]), [...TOP_LEVEL_KEYS, 'vars']) };
}

function setPath(origins: Origins, root: any, path: Path, value: unknown, from: Path): void {
  let node = root;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i];
    if (node[k] === null || typeof node[k] !== 'object') {
      node[k] = typeof path[i + 1] === 'number' ? [] : {};
      origins.setKey(node, k, { path: from });
    }
    node = node[k];
  }
  const last = path[path.length - 1];
  node[last] = origins.cloneFrom(value, from);
  origins.setKey(node, last, { path: from });
}

function getPath(root: any, path: Path): unknown {
  let n = root;
  for (const k of path) { if (n === null || typeof n !== 'object') return undefined; n = n[k]; }
  return n;
}

function formatValue(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** run_id: the first 12 hex digits of sha256 over the canonical JSON of what shapes the numbers. */
/**
 * `dataSha256`: the corpus's content hash. With it, editing a data file in place gives new ids
 * (its runs are trained again), and the same text under another path or name keeps them.
 */
export function runId(config: any, dataSha256?: string): string {
  const { name: _n, description: _d, output: _o, report: _r, on_error: _e, ...rest } = config;
  if (dataSha256 && rest.data && typeof rest.data === 'object') {
    const { path: _p, dataset: _ds, ...data } = rest.data;
    rest.data = { ...data, sha256: dataSha256 };
  }
  // checkpointing changes when state is saved, never the numbers
  if (rest.train && typeof rest.train === 'object' && 'checkpoint' in rest.train) {
    const { checkpoint: _c, ...train } = rest.train;
    rest.train = train;
  }
  return createHash('sha256').update(canonicalJson({ format: 1, ...rest })).digest('hex').slice(0, 12);
}

export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson((v as any)[k])}`).join(',')}}`;
}

export function expandSweep(raw: any, overrides: Overrides = {}): Expansion {
  const origins = new Origins();
  const issues: Issue[] = [];
  const problem = (path: Path, code: Issue['code'], message: string) => issues.push({ code, path, at: path, message });

  const { sweep = {}, ...baseRaw } = raw;
  const base = origins.cloneFrom(baseRaw, []);
  const varsOf = (cfg: any): Record<string, unknown> => (cfg?.model?.vars && typeof cfg.model.vars === 'object' ? cfg.model.vars : {});

  // 1. ladder: each rung patches a copy of the previous one
  const rungs: { name: string; config: any }[] = [];
  if (Array.isArray(sweep.ladder)) {
    let current = base;
    sweep.ladder.forEach((item: Record<string, unknown>, i: number) => {
      const name = Object.keys(item)[0];
      const patch = (item[name] ?? {}) as Record<string, unknown>;
      current = origins.clone(current);
      for (const [key, value] of Object.entries(patch)) {
        const at: Path = ['sweep', 'ladder', i, name, key];
        const target = resolveTarget(key, varsOf(current));
        if (!Array.isArray(target)) {
          problem(at, 'unknown_variable', `'${key}' is neither a variable nor a config path${target.suggestion ? ` (did you mean '${target.suggestion}'?)` : ''}`);
          continue;
        }
        setPath(origins, current, target, value, at);
      }
      rungs.push({ name, config: current });
    });
  } else {
    rungs.push({ name: '', config: base });
  }

  // 2. grid and zip axes: lists of assignments
  type Assign = { name: string; value: unknown; from: Path; label?: string };
  let combos: Assign[][] = [[]];
  const axisNames: string[] = [];
  if (sweep.grid && typeof sweep.grid === 'object') {
    for (const [axis, values] of Object.entries(sweep.grid as Record<string, unknown[]>)) {
      axisNames.push(axis);
      const next: Assign[][] = [];
      for (const c of combos) values.forEach((v, j) => next.push([...c, { name: axis, value: v, from: ['sweep', 'grid', axis, j] }]));
      combos = next;
    }
  }
  if (sweep.zip && typeof sweep.zip === 'object') {
    const entries = Object.entries(sweep.zip as Record<string, unknown[]>);
    const n = entries[0][1].length;
    for (const [axis, values] of entries) {
      axisNames.push(axis);
      if (values.length !== n) problem(['sweep', 'zip', axis], 'schema', `zip axes must have the same length: ${values.length} values here, ${n} in '${entries[0][0]}'`);
    }
    if (!issues.length) {
      const next: Assign[][] = [];
      for (const c of combos) for (let j = 0; j < n; j++) next.push([...c, ...entries.map(([axis, values]) => ({ name: axis, value: values[j], from: ['sweep', 'zip', axis, j] as Path }))]);
      combos = next;
    }
  }

  // vary: one axis at a time around the base (the base itself once), for "what does X buy"
  const varyNames: string[] = [];
  if (sweep.vary && typeof sweep.vary === 'object') {
    const entries = Object.entries(sweep.vary as Record<string, unknown[]>);
    const single: Assign[][] = [[]];
    for (const [axis, values] of entries) {
      if (Array.isArray(values)) {
        axisNames.push(axis); varyNames.push(axis);
        values.forEach((v, j) => single.push([{ name: axis, value: v, from: ['sweep', 'vary', axis, j] }]));
      } else {
        // a named variant: several changes together, e.g. no_projection: {projection: false, ff_mult: 1}
        single.push(Object.entries(values as Record<string, unknown>).map(([k, v]) => ({ name: k, value: v, from: ['sweep', 'vary', axis, k], label: axis })));
      }
    }
    combos = combos.flatMap((c) => single.map((s) => [...c, ...s]));
  }

  // 3. devices and seeds
  const devices: { value: string; from: Path }[] = overrides.device ? [{ value: overrides.device, from: ['device'] }]
    : Array.isArray(sweep.devices) ? sweep.devices.map((d: string, i: number) => ({ value: d, from: ['sweep', 'devices', i] }))
    : [{ value: raw.device ?? 'cpu', from: ['device'] }];
  const seeds: { value: number; from: Path }[] = Array.isArray(sweep.seeds)
    ? sweep.seeds.map((s: number, i: number) => ({ value: s, from: ['sweep', 'seeds', i] }))
    : [{ value: raw.seed ?? 1337, from: ['seed'] }];

  const runs: RunPlan[] = [];
  for (const rung of rungs) {
    for (const combo of combos) {
      for (const dev of devices) {
        for (const seed of seeds) {
          const cfg = origins.clone(rung.config);
          const axes: Record<string, unknown> = {};
          for (const a of combo) {
            const target = resolveTarget(a.name, varsOf(cfg));
            if (!Array.isArray(target)) {
              problem(a.from.slice(0, 3), 'unknown_variable', `'${a.name}' is neither a variable nor a config path${target.suggestion ? ` (did you mean '${target.suggestion}'?)` : ''}`);
              continue;
            }
            setPath(origins, cfg, target, a.value, a.from);
            if (!a.label) axes[a.name] = a.value;
          }
          // a vary run names only the axis it changes; the table shows every axis's value
          const varied = combo.filter((a) => varyNames.includes(a.name)).map((a) => a.name);
          let sameAsBase = false;
          for (const v of varyNames) {
            if (varied.includes(v)) {
              const target = resolveTarget(v, varsOf(rung.config));
              if (Array.isArray(target) && canonicalJson(getPath(rung.config, target)) === canonicalJson(axes[v])) sameAsBase = true;
              continue;
            }
            const target = resolveTarget(v, varsOf(cfg));
            if (Array.isArray(target)) axes[v] = getPath(cfg, target);
          }
          if (sameAsBase) continue; // the base run already covers this value
          setPath(origins, cfg, ['device'], dev.value, dev.from);
          setPath(origins, cfg, ['seed'], seed.value, seed.from);
          if (overrides.steps !== undefined && cfg.train && typeof cfg.train === 'object') cfg.train.steps = overrides.steps;
          substituteVars(cfg, origins, problem);
          const named = Object.entries(axes).filter(([k]) => !varyNames.includes(k) || varied.includes(k));
          const labels = [...new Set(combo.filter((a) => a.label).map((a) => a.label!))];
          const parts = [rung.name, ...named.map(([k, v]) => `${k}=${formatValue(v)}`), ...labels].filter(Boolean);
          if (sweep.vary && !varied.length && !labels.length) parts.push('base');
          if (devices.length > 1) parts.push(dev.value);
          if (seeds.length > 1) parts.push(`seed=${seed.value}`);
          runs.push({
            index: runs.length + 1, name: parts.join('/') || String(raw.name ?? 'run'), rung: rung.name, axes,
            seed: seed.value, device: dev.value, config: cfg, id: '',
          });
        }
      }
    }
  }
  return { runs, axisNames, issues: dedupe(issues), origins };
}

/** Replaces every "$name" string (outside model.vars) by the variable's value. */
function substituteVars(cfg: any, origins: Origins, problem: (p: Path, c: Issue['code'], m: string) => void): void {
  const vars = cfg?.model?.vars && typeof cfg.model.vars === 'object' ? cfg.model.vars : {};
  const walk = (node: any, path: Path) => {
    if (node === null || typeof node !== 'object' || node === vars) return;
    for (const [k, v] of Object.entries(node)) {
      const key = Array.isArray(node) ? Number(k) : k;
      if (typeof v === 'string') {
        const m = VAR_REF.exec(v);
        if (!m) continue;
        if (!Object.hasOwn(vars, m[1])) {
          const s = didYouMean(m[1], Object.keys(vars));
          problem(origins.of(cfg, [...path, key]).path, 'unknown_variable', `unknown variable $${m[1]}${s ? ` (did you mean $${s}?)` : ''}`);
          continue;
        }
        node[key] = origins.clone(vars[m[1]]);
        const from = origins.of(cfg, ['model', 'vars', m[1]]);
        origins.setKey(node, key, { path: from.path, via: `$${m[1]}` });
      } else walk(v, [...path, key]);
    }
  };
  walk(cfg, []);
}

function dedupe(ps: Issue[]): Issue[] {
  const seen = new Set<string>();
  return ps.filter((p) => { const k = `${p.at.join('.')}|${p.message}`; if (seen.has(k)) return false; seen.add(k); return true; });
}
