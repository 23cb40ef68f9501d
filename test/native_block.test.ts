// The fused transformer block (native/kernels/block.cc) against the composite of layers/block.ts:
// forward values and the gradients of x and all eleven parameters, on the native backend with the
// fused op, on native with it switched off (the composite of native kernels) and on tfjs' JS 'cpu'
// backend; dropout masks included (same call ids, same order).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '../core/tf.ts';
import { getLayer, type BuildContext, type Param } from '../layers/index.ts';
import { registerFusedImpls, type FusedImpls } from '../core/ops/registry.ts';
import { nativeFusedAll } from '../native/fused.ts';
import { blockParamNames, TransformerBlock } from '../native/kernels/TransformerBlock.ts';
import { close, nativeAvailable, normal, rng } from '../native/test/tf_helpers.ts';

const test = suite('native fused transformer block');

interface Case {
  B: number; T: number; C: number; H: number; mult: number; act: 'relu' | 'gelu'; dropout: number; training: boolean;
  norm?: 'pre' | 'post'; impl?: 'batched' | 'heads';
}

interface Result { names: string[]; y: Float32Array; grads: Float32Array[]; callIds: number; fusedCalls: number }

/** Random inputs of a case: x, dy and every parameter by its name (the same on every backend). */
function inputs(c: Case, seed: number) {
  const r = rng(seed);
  const values = new Map<string, Float32Array>();
  const param = (name: string, shape: number[]) => {
    const n = shape.reduce((a, b) => a * b, 1);
    let v: Float32Array;
    if (/ln\d\.weight$/.test(name)) v = normal(r, n, 0.2).map((u) => 1 + u);
    else if (shape.length === 1) v = normal(r, n, 0.2);
    else v = normal(r, n, 1 / Math.sqrt(shape[0]));
    values.set(name, v);
    return v;
  };
  const N = c.B * c.T * c.C;
  return { x: normal(r, N), dy: normal(r, N), param, values };
}

let fusedCalls = 0, serial = 0;
const countingImpl: FusedImpls['transformerBlock'] = (x, w, o) => { fusedCalls++; return nativeFusedAll.transformerBlock!(x, w, o); };

/** Builds the block layer on `backend`, runs it forward and takes the gradients of sum(y * dy)
 * with respect to x and every parameter. fused: whether native may use its fused op. */
function run(backend: string, fused: boolean, c: Case, seed = 1): Result {
  tf.setBackend(backend);
  registerFusedImpls('native', { transformerBlock: fused ? countingImpl : undefined });
  const before = tf.memory().numTensors;
  const data = inputs(c, seed);
  const vars: tf.Variable[] = [];
  const names: string[] = [];
  const variable = (values: Float32Array, shape: number[]) => {
    const t = tf.tensor(values, shape);
    const v = tf.variable(t, true, `block-test-${++serial}`);
    t.dispose(); // the variable keeps the data
    return v;
  };
  const ctx = {
    vocabSize: 0, blockSize: c.T, init: 'pytorch', dim: c.C, stage: 'features', tokenEmbedding: null,
    param(name: string, shape: number[]): Param {
      const full = `${names.length}.${name}`;
      const v = variable(data.param(name, shape), shape);
      vars.push(v); names.push(name);
      return { name: full, shape, v };
    },
    scope<T>(name: string, fn: () => T): T {
      const n = names.length;
      const out = fn();
      for (let i = n; i < names.length; i++) names[i] = `${name}.${names[i]}`;
      return out;
    },
    buildLayers() { throw new Error('unused'); },
    note() {},
  } as unknown as BuildContext;
  const forward = getLayer('block')!.build({
    attention: { n_head: c.H, projection: true, dropout: c.dropout, causal: true, impl: c.impl ?? 'batched' },
    feed_forward: { mult: c.mult, activation: c.act, projection: true, dropout: c.dropout },
    residual: true, norm: c.norm ?? 'pre',
  }, ctx);
  const x = variable(data.x, [c.B, c.T, c.C]);
  const dy = tf.tensor(data.dy, [c.B, c.T, c.C]);
  let ids = 0;
  const fc = { training: c.training, seed: 2 ** 33 + 5, nextCallId: () => 100 + ids++, idx: dy };
  fusedCalls = 0;
  let y = new Float32Array();
  let g: Float32Array[] = [];
  tf.tidy(() => {
    const { grads } = tf.variableGrads(() => {
      const out = forward(x, fc);
      assert.equal(out.shape, [c.B, c.T, c.C]);
      y = (out.dataSync() as Float32Array).slice();
      return out.mul(dy).sum() as tf.Scalar;
    }, [x, ...vars]);
    g = [x, ...vars].map((v) => (grads[v.name].dataSync() as Float32Array).slice());
  });
  const res: Result = { names: ['x', ...names], y, grads: g, callIds: ids, fusedCalls };
  tf.dispose([x, dy, ...vars]);
  if (backend === 'native') assert.is(tf.memory().numTensors, before, `${backend}: tensors leaked`);
  registerFusedImpls('native', { transformerBlock: nativeFusedAll.transformerBlock });
  return res;
}

function assertClose(label: string, got: Float32Array, want: Float32Array, tol: number): number {
  assert.is(got.length, want.length, `${label}: size`);
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    if (!close(got[i], want[i], tol)) assert.unreachable(`${label}: element ${i}: ${got[i]} vs ${want[i]}`);
    worst = Math.max(worst, Math.abs(got[i] - want[i]) / Math.max(1, Math.abs(want[i])));
  }
  return worst;
}

function compare(c: Case, tol = 1e-5): void {
  const label = JSON.stringify(c);
  const fused = run('native', true, c), composite = run('native', false, c), js = run('cpu', false, c);
  assert.is(fused.fusedCalls, 1, `${label}: the fused op ran`);
  assert.is(composite.fusedCalls, 0);
  assert.is(fused.callIds, composite.callIds, `${label}: dropout call ids used`);
  assert.is(fused.callIds, c.training && c.dropout > 0 ? 3 : 1);
  assert.is(fused.names.length, 12, 'x and eleven parameters');
  assert.equal(fused.names, js.names);
  let worst = 0;
  for (const [other, name] of [[composite, 'native composite'], [js, 'cpu composite']] as const) {
    worst = Math.max(worst, assertClose(`${label} y vs ${name}`, fused.y, other.y, tol));
    fused.grads.forEach((g, i) => {
      worst = Math.max(worst, assertClose(`${label} d${fused.names[i]} vs ${name}`, g, other.grads[i], tol));
    });
  }
  // not all zero: the comparison means something
  for (let i = 0; i < fused.grads.length; i++) {
    assert.ok(fused.grads[i].some((v) => Math.abs(v) > 1e-3), `${label}: d${fused.names[i]} is not zero`);
  }
  // the fused op is deterministic: same inputs, same bits
  assert.equal(Array.from(run('native', true, c).grads[3]), Array.from(fused.grads[3]), `${label}: run-to-run`);
  assert.ok(worst <= tol, `${label}: worst ${worst}`);
  console.log(`  ${label}: max relative difference ${worst.toExponential(2)}`);
}

if (nativeAvailable(test, 'native block tests')) {
  test('relu, no dropout, T <= 64', () => {
    compare({ B: 2, T: 8, C: 32, H: 4, mult: 4, act: 'relu', dropout: 0, training: true });
  });

  test('gelu, dropout 0.2 (training), odd sizes C=12, H=3, B=3, T=5, mult 2', () => {
    compare({ B: 3, T: 5, C: 12, H: 3, mult: 2, act: 'gelu', dropout: 0.2, training: true });
  });

  test('relu, dropout 0.2 (training), mult 4', () => {
    compare({ B: 4, T: 16, C: 16, H: 2, mult: 4, act: 'relu', dropout: 0.2, training: true });
  });

  test('T > 64 (attention\'s long path), gelu and relu, dropout 0.2', () => {
    compare({ B: 2, T: 70, C: 16, H: 2, mult: 2, act: 'gelu', dropout: 0.2, training: true });
    compare({ B: 1, T: 130, C: 8, H: 1, mult: 4, act: 'relu', dropout: 0.2, training: true });
  });

  test('not training: no dropout (rate 0), one call id as the composite', () => {
    compare({ B: 2, T: 9, C: 12, H: 2, mult: 4, act: 'gelu', dropout: 0.2, training: false });
  });

  test('dropout masks matter: another seed gives other gradients', () => {
    const c: Case = { B: 2, T: 8, C: 8, H: 2, mult: 2, act: 'relu', dropout: 0.5, training: true };
    const a = run('native', true, c), b = run('native', false, c);
    assert.equal(Array.from(a.y).map((v, i) => close(v, b.y[i], 1e-5)).every(Boolean), true);
    const noDrop = run('native', true, { ...c, dropout: 0 });
    assert.ok(a.y.some((v, i) => Math.abs(v - noDrop.y[i]) > 1e-3), 'dropout changes y');
  });

  test('the kernel\'s registered gradient (direct runKernel) equals the customGrad path of core/ops', () => {
    tf.setBackend('native');
    const B = 2, T = 6, C = 12, H = 3, F = 24, r = rng(11);
    const shapes: Record<string, number[]> = {
      ln1g: [C], ln1b: [C], wqkv: [C, 3 * C], wproj: [C, C], bproj: [C], ln2g: [C], ln2b: [C], wfc: [C, F], bfc: [F],
      wfp: [F, C], bfp: [C],
    };
    const vals = blockParamNames.map((k) => normal(r, shapes[k].reduce((a, b) => a * b, 1), 0.3));
    const x = normal(r, B * T * C), dy = normal(r, B * T * C);
    const opts = { nHead: H, activation: 'gelu' as const, eps: 1e-5, attnDropout: 0.2, projDropout: 0.2, ffDropout: 0.2,
      seed: 9, attnCallId: 4, projCallId: 5, ffCallId: 6 };
    const attrs = { nHead: H, gelu: true, eps: 1e-5, seedLo: 9, seedHi: 0, attnRate: 0.2, attnCallLo: 4, attnCallHi: 0,
      projRate: 0.2, projCallLo: 5, projCallHi: 0, ffRate: 0.2, ffCallLo: 6, ffCallHi: 0 };
    const grads = (f: (xx: tf.Tensor, ...ps: tf.Tensor[]) => tf.Tensor) => tf.tidy(() =>
      tf.grads(f)([tf.tensor(x, [B, T, C]), ...vals.map((v, i) => tf.tensor(v, shapes[blockParamNames[i]]))],
        tf.tensor(dy, [B, T, C])).map((g) => Array.from(g.dataSync())));
    const named = (ps: tf.Tensor[]) => Object.fromEntries(blockParamNames.map((k, i) => [k, ps[i]]));
    const viaCustomGrad = grads((xx, ...ps) => nativeFusedAll.transformerBlock!(xx, named(ps) as never, opts));
    const viaKernel = grads((xx, ...ps) => (tf.engine().runKernel(TransformerBlock, { x: xx, ...named(ps) }, attrs) as tf.Tensor[])[0]);
    assert.is(viaKernel.length, 12);
    assert.equal(viaKernel, viaCustomGrad);
  });

  test('other block shapes keep the composite (no fused call)', () => {
    for (const c of [
      { B: 2, T: 4, C: 8, H: 2, mult: 2, act: 'relu', dropout: 0, training: true, norm: 'post' },
      { B: 2, T: 4, C: 8, H: 2, mult: 2, act: 'relu', dropout: 0.1, training: true, impl: 'heads' },
    ] as Case[]) {
      const r = run('native', true, c), js = run('cpu', false, c);
      assert.is(r.fusedCalls, 0, JSON.stringify(c));
      assertClose(`${JSON.stringify(c)} y`, r.y, js.y, 1e-5);
    }
  });

  test.run();
}
