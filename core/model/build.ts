// Builds a model from the resolved `model.layers` list using the layer registry: a chain of
// forward functions over the stream (token ids -> features -> logits) and its named parameters.
// A dry build (sizing only, for validation, --dry-run and --summary) allocates no tensors.
import * as tf from '../tf.ts';
import { getLayer, LayerError, type BuildContext, type Forward, type ForwardContext, type Init, type InitScheme,
  type Param, type Stage } from '../../layers/index.ts';
import { PhiloxStream, Streams } from '../random/philox.ts';

export interface SummaryRow { path: string; layer: string; outShape: string; params: number; depth: number }

export interface Model {
  params: Param[];
  paramCount: number;
  summary: SummaryRow[];
  /** (B, T) int32 ids -> (B, T, V) logits */
  forward(idx: tf.Tensor, fc: Omit<ForwardContext, 'idx'>): tf.Tensor;
  dispose(): void;
}

export interface BuildOptions { vocabSize: number; blockSize: number; init: InitScheme; seed: number; dry: boolean }

/** Where in `model.layers` a build error happened, for located messages. */
export class ModelBuildError extends Error {
  constructor(readonly path: (string | number)[], message: string) { super(message); }
}

function fill(init: Init, n: number, rng: PhiloxStream): Float32Array {
  const a = new Float32Array(n);
  if (init.kind === 'const') a.fill(init.value);
  else if (init.kind === 'uniform') for (let i = 0; i < n; i++) a[i] = (rng.uniform() * 2 - 1) * init.bound;
  else for (let i = 0; i < n; i++) a[i] = rng.normal() * init.std;
  return a;
}

/** Splits a layer item `{name: params}` (or `{repeat: N, layers: [...]}`) into name and params. */
export function layerItem(item: unknown): { name: string; params: Record<string, unknown> } {
  const o = item as Record<string, unknown>;
  if ('repeat' in o) return { name: 'repeat', params: { times: o.repeat, layers: o.layers } };
  const name = Object.keys(o)[0];
  return { name, params: (o[name] ?? {}) as Record<string, unknown> };
}

/** tfjs wants globally unique variable names; runs in one process each build their own. */
let variableSerial = 0;

export function buildModel(layers: unknown[], opts: BuildOptions): Model {
  const params: Param[] = [];
  const summary: SummaryRow[] = [];
  const rng = new PhiloxStream(opts.seed, Streams.init);
  const scopes: string[] = [];
  const errPath: (string | number)[] = [];
  let depth = 0;
  let current: SummaryRow | null = null;

  const ctx: BuildContext = {
    vocabSize: opts.vocabSize, blockSize: opts.blockSize, init: opts.init,
    dim: 0, stage: 'tokens' as Stage, tokenEmbedding: null,
    param(name, shape, init) {
      const full = [...scopes, name].join('.');
      const n = shape.reduce((a, b) => a * b, 1);
      // values are drawn in JS from the run seed, so every backend starts from the same weights
      let v: tf.Variable | null = null;
      if (!opts.dry) {
        const initial = tf.tensor(fill(init, n, rng), shape, 'float32');
        v = tf.variable(initial, true, `${full}#${++variableSerial}`);
        initial.dispose(); // the variable holds its own reference
      }
      const p: Param = { name: full, shape, v };
      params.push(p);
      return p;
    },
    scope(name, fn) { scopes.push(name); try { return fn(); } finally { scopes.pop(); } },
    buildLayers(specs, scope) { return ctx.scope(scope, () => chain(specs, ['layers'])); },
    note(outShape) { if (current) current.outShape = outShape; },
  };

  function chain(specs: unknown[], at: (string | number)[]): Forward {
    const fns: Forward[] = [];
    errPath.push(...at);
    specs.forEach((item, i) => {
      const { name, params: p } = layerItem(item);
      const def = getLayer(name);
      if (!def) throw new ModelBuildError([...errPath, i], `unknown layer '${name}'`);
      const row: SummaryRow = { path: [...scopes, `${i}`].join('.'), layer: name, outShape: '', params: 0, depth };
      summary.push(row);
      const before = params.length;
      const outer = current; current = row; depth++;
      const seg: (string | number)[] = name === 'repeat' ? [i] : [i, name];
      errPath.push(...seg);
      try {
        fns.push(ctx.scope(`${i}`, () => def.build(p, ctx)));
      } catch (e) {
        if (e instanceof LayerError) throw new ModelBuildError([...errPath, ...e.path], e.message);
        throw e;
      } finally {
        errPath.splice(errPath.length - seg.length, seg.length);
        depth--; current = outer;
      }
      row.params = params.slice(before).reduce((a, q) => a + q.shape.reduce((x, y) => x * y, 1), 0);
      if (name === 'repeat') row.outShape = `(B, T, ${ctx.dim})`;
    });
    errPath.splice(errPath.length - at.length, at.length);
    return (x, fc) => fns.reduce((h, f) => f(h, fc), x);
  }

  const forward = chain(layers, []);
  if (ctx.stage !== 'logits' || ctx.dim !== opts.vocabSize) {
    throw new ModelBuildError([], ctx.stage === 'logits'
      ? `the model ends ${ctx.dim} wide, not one logit per token (${opts.vocabSize})`
      : 'the model must end with lm_head (or be a bigram table): it produces no logits');
  }
  const paramCount = params.reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);
  return {
    params, paramCount, summary,
    forward: (idx, fc) => forward(idx, { ...fc, idx }),
    dispose() { for (const p of params) p.v?.dispose(); },
  };
}

/** Keras-like table: layer, output shape, parameters, and the total. */
export function formatSummary(m: Model): string {
  const rows = m.summary.map((r) => [`${'  '.repeat(r.depth)}${r.layer} (${r.path})`, r.outShape, r.params.toLocaleString('en-US')]);
  rows.push(['total', '', m.paramCount.toLocaleString('en-US')]);
  const w = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c].length), ['layer', 'output shape', 'params'][c].length));
  const line = (r: string[]) => `${r[0].padEnd(w[0])}  ${r[1].padEnd(w[1])}  ${r[2].padStart(w[2])}`;
  return [line(['layer', 'output shape', 'params']), '-'.repeat(w[0] + w[1] + w[2] + 4), ...rows.slice(0, -1).map(line),
    '-'.repeat(w[0] + w[1] + w[2] + 4), line(rows[rows.length - 1])].join('\n');
}
