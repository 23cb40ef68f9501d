// Loads an experiment file and turns it into validated runs, or into a list of located problems.
// Order: YAML -> top-level keys and sweep -> expansion -> each run against the schema (defaults
// filled in) -> semantic checks (corpus, model composition, devices). Everything is checked
// before the first run starts.
import { totalmem } from 'node:os';
import { dirname, resolve } from 'node:path';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { buildModel, ModelBuildError } from '../model/build.ts';
import { CorpusCache, type Corpus } from '../data/corpus.ts';
import { ConfigError, didYouMean, formatPath, type Issue, type Path, type Problem } from './errors.ts';
import YAML from 'yaml';
import { expandSweep, parsePathString, runId, type Overrides, type RunPlan } from './expand.ts';
import type { Origins } from './origins.ts';
import { experimentSchema, sectionSchemas, TOP_LEVEL_KEYS } from './schema.ts';
import { locate, parseSource, readSourceText, type Source } from './source.ts';

export interface ValidatedRun extends RunPlan { paramCount: number; vocabSize: number }

export interface Experiment {
  file: string;
  source: Source;
  raw: any;
  name: string;
  runs: ValidatedRun[];
  axisNames: string[];
  corpora: CorpusCache;
}

export interface DeviceCheck { (device: string, precision: string): { path: 'device' | 'precision'; message: string } | null }

let compiled: { run: ValidateFunction; sweep: ValidateFunction } | null = null;
function validators() {
  if (!compiled) {
    const ajv = new Ajv2020({ allErrors: true, useDefaults: true, strict: true, allowUnionTypes: true, verbose: true });
    compiled = { run: ajv.compile(experimentSchema()), sweep: ajv.compile(sectionSchemas.sweep) };
  }
  return compiled;
}

const got = (v: unknown) => (v === undefined ? '' : ` (got ${(typeof v === 'number' && !Number.isFinite(v) ? String(v) : JSON.stringify(v))?.slice(0, 60)})`);

function at(root: unknown, path: Path): unknown {
  let n: any = root;
  for (const k of path) { if (n === null || typeof n !== 'object') return undefined; n = n[k]; }
  return n;
}

function instancePath(root: unknown, p: string): Path {
  const out: Path = [];
  let node: any = root;
  for (const raw of p.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const key = Array.isArray(node) ? Number(seg) : seg;
    out.push(key);
    node = node?.[key];
  }
  return out;
}

/** The schema of one item of model.layers (it lists every layer name, and repeat). */
function isLayerItemSchema(ps: Record<string, any> | undefined): boolean {
  return Boolean(ps?.properties && 'lm_head' in ps.properties && 'repeat' in ps.properties);
}

/** One readable sentence per ajv error; null for errors that only echo another one. */
export function ajvIssues(errors: ErrorObject[], root: unknown, prefix: Path = []): Omit<Issue, 'at'>[] {
  const out: Omit<Issue, 'at'>[] = [];
  for (const e of errors) {
    const path = [...prefix, ...instancePath(root, e.instancePath)];
    const value = at(root, instancePath(root, e.instancePath));
    const ps = e.parentSchema as Record<string, any> | undefined;
    switch (e.keyword) {
      case 'if': break;
      case 'additionalProperties': {
        const k = (e.params as { additionalProperty: string }).additionalProperty;
        const known = Object.keys(ps?.properties ?? {});
        const isLayer = isLayerItemSchema(ps);
        const s = didYouMean(k, known);
        const hint = s ? ` (did you mean '${s}'?)` : known.length && known.length <= 12 ? ` (known: ${known.filter((n) => n !== 'layers').join(', ')})` : '';
        out.push({
          code: isLayer ? 'unknown_layer' : 'unknown_key', path: [...path, k], key: true,
          message: `${isLayer ? 'unknown layer' : 'unknown key'} '${k}'${hint}`,
        });
        break;
      }
      case 'required':
        out.push({ code: 'schema', path, message: `missing required key '${(e.params as { missingProperty: string }).missingProperty}'` });
        break;
      case 'type': {
        const range = ps && 'minimum' in ps ? ` >= ${ps.minimum}` : ps && 'exclusiveMinimum' in ps ? ` > ${ps.exclusiveMinimum}` : '';
        const t = (e.params as { type: string | string[] }).type;
        out.push({ code: 'schema', path, message: `must be ${Array.isArray(t) ? t.join(' or ') : t === 'integer' || t === 'object' || t === 'array' ? `an ${t}` : `a ${t}`}${range}${got(value)}` });
        break;
      }
      case 'minimum': case 'maximum': case 'exclusiveMinimum': case 'exclusiveMaximum': {
        const { comparison, limit } = e.params as { comparison: string; limit: number };
        out.push({ code: 'schema', path, message: `must be ${comparison} ${limit}${got(value)}` });
        break;
      }
      case 'enum': {
        const allowed = (e.params as { allowedValues: unknown[] }).allowedValues;
        const s = typeof value === 'string' ? didYouMean(value, allowed.map(String)) : null;
        out.push({ code: 'schema', path, message: `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}${got(value)}${s ? ` (did you mean '${s}'?)` : ''}` });
        break;
      }
      case 'dependentRequired': {
        const { property, missingProperty } = e.params as { property: string; missingProperty: string };
        out.push({ code: 'schema', path, message: property === 'repeat' ? `repeat needs 'layers': the list of layers to repeat` : `'${property}' needs '${missingProperty}' (how many times to repeat the layers)` });
        break;
      }
      case 'minProperties':
        out.push({ code: 'schema', path, message: isLayerItemSchema(ps) ? 'empty layer: name a layer, e.g. `- lm_head: {}`' : 'must not be empty' });
        break;
      default:
        out.push({ code: 'schema', path, message: `${e.message ?? e.keyword}${got(value)}` });
    }
  }
  return out;
}

/** Turns issues into problems with file, line and column, sorted by position, without repeats. */
export function locateIssues(src: Source, issues: Issue[]): Problem[] {
  const seen = new Set<string>();
  const out: Problem[] = [];
  for (const i of issues) {
    const { line, col } = locate(src, i.at, i.key);
    const p: Problem = { code: i.code, file: src.file, line, col, path: formatPath(i.path), message: i.message };
    const k = `${line}:${col}:${p.path}:${p.message}`;
    if (!seen.has(k)) { seen.add(k); out.push(p); }
  }
  return out.sort((a, b) => a.line - b.line || a.col - b.col);
}

export interface LoadOptions extends Overrides {
  /** returns why a device cannot be used, or null when it can */
  checkDevice?: DeviceCheck;
  /** skip building models (for tools that only need the run list) */
  skipModel?: boolean;
  /** command-line overrides `path=value` (value parsed as YAML), applied before the sweep expands */
  set?: string[];
  /** what relative --set data.path values are relative to */
  cwd?: string;
}

/** Applies --set overrides to the parsed file; a malformed one is a usage problem. */
function applySets(raw: any, sets: string[], file: string, cwd: string): void {
  for (const s of sets) {
    const eq = s.indexOf('=');
    const bad = (why: string) => new ConfigError([{ code: 'usage', file, line: 1, col: 1, path: '--set', message: `${JSON.stringify(s)}: ${why}` }]);
    if (eq <= 0) throw bad('expected path=value, e.g. train.steps=100 or data.path=my.txt');
    const path = parsePathString(s.slice(0, eq));
    const target = path[0] === 'vars' ? ['model', ...path] : TOP_LEVEL_KEYS.includes(String(path[0])) ? path : ['model', 'vars', ...path];
    let value: unknown;
    try { value = YAML.parse(s.slice(eq + 1)); } catch (e) { throw bad(`the value is not valid YAML (${(e as Error).message.split('\n')[0]})`); }
    let node = raw;
    for (let i = 0; i < target.length - 1; i++) {
      const k = target[i];
      if (node[k] === null || typeof node[k] !== 'object') node[k] = typeof target[i + 1] === 'number' ? [] : {};
      node = node[k];
    }
    node[target[target.length - 1]] = value;
    // a corpus named on the command line replaces the file's, and is relative to where you are
    if (target.join('.') === 'data.path') { delete raw.data.dataset; if (typeof value === 'string') raw.data.path = resolve(cwd, value); }
    if (target.join('.') === 'data.dataset') delete raw.data.path;
  }
}

export function loadExperiment(file: string, opts: LoadOptions = {}): Experiment {
  const text = readSourceText(file);
  const { source, value: raw } = parseSource(file, text);
  if (opts.set?.length) applySets(raw, opts.set, file, opts.cwd ?? process.cwd());
  return validateExperiment(source, raw as any, opts);
}

export function validateExperiment(source: Source, raw: any, opts: LoadOptions = {}): Experiment {
  const issues: Issue[] = [];
  const fail = () => { throw new ConfigError(locateIssues(source, issues)); };

  // top-level keys and the sweep section first: expansion needs them well-formed
  for (const k of Object.keys(raw)) {
    if (!TOP_LEVEL_KEYS.includes(k)) {
      const s = didYouMean(k, TOP_LEVEL_KEYS);
      issues.push({ code: 'unknown_key', path: [k], at: [k], key: true, message: `unknown key '${k}'${s ? ` (did you mean '${s}'?)` : ''}` });
    }
  }
  if (raw.sweep !== undefined && !validators().sweep(raw.sweep)) {
    for (const i of ajvIssues(validators().sweep.errors ?? [], raw.sweep, ['sweep'])) issues.push({ ...i, at: i.path });
  }
  if (issues.length) fail();
  const size = sweepSize(raw.sweep, opts);
  if (size > MAX_RUNS) {
    issues.push({ code: 'schema', path: ['sweep'], at: ['sweep'], key: true, message: `the sweep expands to ${size > 1e15 ? 'more than 10^15' : size.toLocaleString('en-US')} runs; at most ${MAX_RUNS.toLocaleString('en-US')} per experiment file (split the sweep)` });
    fail();
  }

  const exp = expandSweep(raw, opts);
  issues.push(...exp.issues);
  if (issues.length) fail();

  const corpora = new CorpusCache(dirname(source.file));
  const runs: ValidatedRun[] = [];
  const origins = exp.origins;
  const where = (cfg: unknown, path: Path, key = false, code: Issue['code'] = 'schema', message = ''): Issue => {
    const o = origins.of(cfg, path);
    return { code, path, at: o.path, key, message: o.via ? `${message} (from ${o.via})` : message };
  };

  for (const run of exp.runs) {
    const cfg = run.config;
    const structural = issues.length;
    for (const item of layerItems(cfg)) {
      const names = Object.keys(item.value).filter((k) => k !== 'layers');
      if (names.length > 1) issues.push(where(cfg, item.path, false, 'schema', `one layer per list item, found ${names.join(' and ')} (start each with '- ')`));
    }
    for (const v of Object.keys(cfg.model?.vars ?? {})) {
      const val = cfg.model.vars[v];
      if (typeof val === 'string' && /^\$/.test(val)) issues.push(where(cfg, ['model', 'vars', v], false, 'schema', 'a variable cannot refer to another variable'));
    }
    if (issues.length > structural) continue;
    const validate = validators().run;
    if (!validate(cfg)) {
      for (const i of ajvIssues(validate.errors ?? [], cfg)) issues.push(where(cfg, i.path, i.key, i.code, i.message));
      continue;
    }
    const before = issues.length;
    semanticChecks(run, cfg, corpora, opts, (path, code, message, key) => issues.push(where(cfg, path, key, code, message)));
    if (issues.length > before) continue;
    const resolved = run.config;
    run.id = runId(resolved, corpora.get(resolved.data, resolved.tokenizer).sha256);
    runs.push(run as ValidatedRun);
  }
  if (issues.length) fail();
  const ids = new Map<string, string>();
  for (const r of runs) {
    const prev = ids.get(r.id);
    if (prev) throw new ConfigError([{ code: 'schema', file: source.file, line: 1, col: 1, path: 'sweep', message: `runs '${prev}' and '${r.name}' are identical (same run_id ${r.id}): remove the duplicate axis value or rung` }]);
    ids.set(r.id, r.name);
  }
  return { file: source.file, source, raw, name: raw.name, runs, axisNames: exp.axisNames, corpora };
}

/** Upper bounds that keep hostile experiments from hanging validation or the sweep. */
export const MAX_RUNS = 10000;
export const MAX_LAYERS = 4096;

const gib = (bytes: number) => (bytes >= 2 ** 50 ? `${(bytes / 2 ** 50).toPrecision(3)} PiB` : bytes >= 2 ** 40 ? `${(bytes / 2 ** 40).toPrecision(3)} TiB` : `${(bytes / 2 ** 30).toFixed(1)} GiB`);

/** How many runs a (schema-valid) sweep section expands to, without expanding it. */
function sweepSize(sweep: any, opts: Overrides): number {
  if (!sweep || typeof sweep !== 'object') return 1;
  const len = (v: unknown) => (Array.isArray(v) ? v.length : 1);
  let n = Array.isArray(sweep.ladder) ? sweep.ladder.length : 1;
  for (const v of Object.values(sweep.grid ?? {})) n *= len(v);
  const zip = Object.values(sweep.zip ?? {});
  if (zip.length) n *= len(zip[0]);
  if (sweep.vary && typeof sweep.vary === 'object') n *= 1 + Object.values(sweep.vary).reduce((a: number, v) => a + len(v), 0);
  if (!opts.device) n *= len(sweep.devices);
  n *= len(sweep.seeds);
  return n;
}

/** Layers in a model once every repeat is expanded (stops counting past MAX_LAYERS). */
function layerCount(list: unknown, depth = 0): number {
  if (!Array.isArray(list) || depth > 64) return 0;
  let n = 0;
  for (const item of list) {
    if (item && typeof item === 'object' && 'repeat' in item) {
      const times = Number((item as any).repeat) || 1;
      n += times * Math.max(1, layerCount((item as any).layers, depth + 1));
    } else n += 1;
    if (n > MAX_LAYERS) return n;
  }
  return n;
}

function layerItems(cfg: any): { path: Path; value: Record<string, unknown> }[] {
  const out: { path: Path; value: Record<string, unknown> }[] = [];
  const walk = (list: unknown, path: Path) => {
    if (!Array.isArray(list)) return;
    list.forEach((item, i) => {
      if (item === null || typeof item !== 'object' || Array.isArray(item)) return;
      const p = [...path, i];
      // `- lm_head:` parses as {lm_head: null}: treat as no parameters
      for (const [k, v] of Object.entries(item)) if (v === null && k !== 'repeat' && k !== 'layers') (item as any)[k] = {};
      out.push({ path: p, value: item as Record<string, unknown> });
      const o = item as Record<string, unknown>;
      if ('layers' in o) walk(o.layers, [...p, 'layers']);
      if (o.block && typeof o.block === 'object') { /* blocks hold no nested lists */ }
    });
  };
  walk(cfg?.model?.layers, ['model', 'layers']);
  return out;
}

function semanticChecks(run: RunPlan, cfg: any, corpora: CorpusCache, opts: LoadOptions,
  report: (path: Path, code: Issue['code'], message: string, key?: boolean) => void): void {
  if (cfg.data.dataset && cfg.data.path) { report(['data'], 'schema', 'give either dataset or path, not both'); return; }
  if (!cfg.data.dataset && !cfg.data.path) cfg.data.dataset = 'moby-dick';
  if (opts.checkDevice) {
    const why = opts.checkDevice(cfg.device, cfg.precision);
    if (why) report([why.path], 'device', why.message);
  }
  let corpus: Corpus;
  try { corpus = corpora.get(cfg.data, cfg.tokenizer); } catch (e) {
    report(['data', cfg.data.path ? 'path' : 'dataset'], 'data', (e as Error).message);
    return;
  }
  const T = cfg.model.vars.block_size;
  for (const [split, ids] of [['train', corpus.train], ['validation', corpus.val]] as const) {
    if (ids.length <= T + 1) {
      report(['model', 'vars', 'block_size'], 'data', `block_size ${T} needs more than ${T + 1} tokens in the ${split} split, which has ${ids.length}`);
      return;
    }
  }
  const layers = layerCount(cfg.model.layers);
  if (layers > MAX_LAYERS) {
    report(['model', 'layers'], 'model', `the model has ${layers > 1e15 ? 'more than 10^15' : layers.toLocaleString('en-US')} layers once repeats are expanded; at most ${MAX_LAYERS.toLocaleString('en-US')}`);
    return;
  }
  if (opts.skipModel) { (run as ValidatedRun).paramCount = 0; (run as ValidatedRun).vocabSize = corpus.tokenizer.vocabSize; return; }
  try {
    const m = buildModel(cfg.model.layers, { vocabSize: corpus.tokenizer.vocabSize, blockSize: T, init: cfg.model.init, seed: cfg.seed, dry: true });
    (run as ValidatedRun).paramCount = m.paramCount;
    (run as ValidatedRun).vocabSize = corpus.tokenizer.vocabSize;
    // weights, gradients and AdamW's two moments: 16 bytes a parameter before any activation
    const need = m.paramCount * 16;
    if (cfg.device === 'cpu' && need > totalmem()) {
      report(['model', 'layers'], 'model', `the model has ${m.paramCount.toLocaleString('en-US')} parameters: weights, gradients and AdamW moments alone need ${gib(need)}, more than this machine's ${gib(totalmem())} of memory`);
    }
  } catch (e) {
    if (e instanceof ModelBuildError) report(['model', 'layers', ...e.path], e.message.startsWith('unknown layer') ? 'unknown_layer' : 'model', e.message);
    else throw e;
  }
}
