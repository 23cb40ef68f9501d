// The CUDA backend's op-by-op checks against the native CPU backend, shared by the emulator run
// (cuda_backend.test.ts, every machine) and the GPU run (cuda_gpu.test.ts, where a GPU is).
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '../core/tf.ts';
import { fallbackCounts } from '../native/cuda/kernels/fallback.ts';
import { causalAttention, dropout, embedding, gelu, layerNorm, softmaxCrossEntropy } from '../core/ops/fused.ts';
import { close, normal, rng } from '../native/test/tf_helpers.ts';
import { activeFused, type BlockWeights } from '../core/ops/registry.ts';
import { setNativePrecision } from '../native/index.ts';

/** Registers the cases on `test`, run on backend `backend` against 'native'. tol: the relative
 * tolerance of float results (fp32 kernels: 1e-5). */
export function cudaCases(test: Test, backend: string, tol = 1e-5): void {
  interface Out { shape: number[]; values: Float32Array }

  /** Runs f on a backend with host inputs and returns every output's shape and values. */
  function on(backend: string, f: () => tf.Tensor | tf.Tensor[]): Out[] {
    tf.setBackend(backend);
    return tf.tidy(() => {
      const out = f();
      return (Array.isArray(out) ? out : [out]).map((t) => ({ shape: t.shape, values: Float32Array.from(t.dataSync() as ArrayLike<number>) }));
    });
  }

  /** f on native and on `backend`, compared element by element (|a - b| <= tol max(1, |b|)). */
  function same(name: string, f: () => tf.Tensor | tf.Tensor[], t = tol, onDevice = true) {
    const want = on('native', f);
    fallbackCounts.clear();
    const got = on(backend, f);
    if (onDevice) assert.equal([...fallbackCounts.keys()], [], `${name}: every kernel ran on the device`);
    assert.is(got.length, want.length, `${name}: number of outputs`);
    want.forEach((w, i) => {
      assert.equal(got[i].shape, w.shape, `${name} output ${i}: shape`);
      let worst = -1, at = -1;
      w.values.forEach((b, j) => {
        const a = got[i].values[j];
        const err = close(a, b, t) ? 0 : Math.abs(a - b);
        if (err > worst) { worst = err; at = j; }
      });
      assert.ok(worst === 0, `${name} output ${i}: element ${at} is ${got[i].values[at]} on ${backend}, ${w.values[at]} on native`);
    });
  }

  const rand = (seed: number, shape: number[], scale = 1) => {
    const n = shape.reduce((a, b) => a * b, 1);
    return tf.tensor(normal(rng(seed), n, scale), shape);
  };

  test('tensors round-trip through device memory; memory is given back', () => {
    tf.setBackend(backend);
    const before = tf.memory().numTensors;
    const a = tf.tensor([1.5, -2, 3], [3]);
    const i = tf.tensor([1, -7, 2 ** 30], [3], 'int32');
    const b = tf.tensor([true, false, true], [3], 'bool');
    assert.equal(Array.from(a.dataSync()), [1.5, -2, 3]);
    assert.equal(Array.from(i.dataSync()), [1, -7, 2 ** 30]);
    assert.equal(Array.from(b.dataSync()), [1, 0, 1]);
    const r = a.reshape([1, 3]);  // a view: no copy, one more reference
    a.dispose();
    assert.equal(Array.from(r.dataSync()), [1.5, -2, 3]);
    tf.dispose([r, i, b]);
    assert.is(tf.memory().numTensors, before);
  });

  test('element-wise ops with broadcasting, comparisons, casts', () => {
    same('add/mul/sub/div', () => {
      const a = rand(1, [2, 3, 4]), b = rand(2, [3, 1]);
      return [a.add(b), a.mul(b), a.sub(b), a.div(b.abs().add(0.5)), a.maximum(b), a.minimum(b), a.squaredDifference(b)];
    });
    same('unary', () => {
      const a = rand(3, [5, 7]);
      return [a.neg(), a.exp(), a.abs().log(), a.abs().sqrt(), a.square(), a.relu(), a.tanh(), a.sigmoid(), a.erf(), a.floor(), a.ceil(), tf.step(a, 0.3)];
    });
    same('compare and select', () => {
      const a = rand(4, [4, 6]), b = rand(5, [6]);
      return [a.greater(b).cast('float32'), a.lessEqual(b).cast('float32'), tf.where(a.greater(b), a, b.broadcastTo([4, 6]))];
    });
    same('int32', () => {
      const a = tf.tensor([7, -7, 3, 0, -1, 9], [6], 'int32'), b = tf.tensor([2, 2, -2, 5, 3, 4], [6], 'int32');
      return [a.add(b).cast('float32'), a.mul(b).cast('float32'), tf.floorDiv(a, b).cast('float32'), a.cast('float32').div(2)];
    });
  });

  test('shape ops: transpose, slice, concat, stack, unstack, split, tile, pad, gather', () => {
    same('layout', () => {
      const a = rand(6, [2, 3, 4, 5]);
      const [u0] = tf.unstack(a.slice([0, 0, 0, 0], [2, 3, 1, 5]), 2);
      return [a.transpose([0, 2, 1, 3]), a.slice([1, 0, 2, 1], [1, 3, 2, 3]), tf.concat([a, a.mul(2)], 2), tf.stack([a, a], 1), u0,
        ...tf.split(a, [1, 3, 1], 3), a.tile([1, 2, 1, 1]), a.pad([[0, 0], [1, 0], [0, 2], [0, 0]], 0.5)];
    });
    same('gather and one-hot', () => {
      const x = rand(7, [6, 5]), idx = tf.tensor([5, 0, 2, 2], [4], 'int32');
      return [tf.gather(x, idx), tf.gather(x, tf.tensor([4, 0, 2, 2], [4], 'int32'), 1), tf.oneHot(idx, 6).cast('float32'), tf.oneHot(idx, 6, 2, -1, 'float32')];
    });
  });

  test('gather with an index out of range throws the CPU backend\'s error', () => {
    tf.setBackend(backend);
    tf.tidy(() => {
      const x = rand(27, [4, 3]);
      assert.throws(() => tf.gather(x, tf.tensor([1, 4], [2], 'int32')).dataSync(), /GatherV2: the index value 4 is not in \[0, 3\]/);
    });
  });

  test('reductions and softmax', () => {
    same('sum/mean/max/min/arg', () => {
      const a = rand(8, [3, 4, 50]);
      return [a.sum(), a.sum(2), a.sum([0, 2]), a.mean(1), a.max(2), a.min(0), a.argMax(2).cast('float32'), a.argMin(1).cast('float32'), tf.softmax(a)];
    });
  });

  test('matmul: transposes, batches, broadcast, fused bias and relu', () => {
    same('matmul', () => {
      const a = rand(9, [3, 17, 9]), b = rand(10, [3, 9, 13]), w = rand(11, [9, 13]), bias = rand(12, [13]);
      const x = rand(13, [17, 9]);
      return [tf.matMul(a, b), tf.matMul(a, w), tf.matMul(b, a, true, true), tf.fused.matMul({ a: x, b: w, bias, activation: 'relu' }),
        tf.fused.matMul({ a: x, b: w, bias })];
    });
  });

  /** The backend's addon (the precision switch), with `backend` made the current backend. */
  const deviceBinding = () => {
    tf.setBackend(backend);
    return (tf.backend() as unknown as { binding: { setPrecision(p: string): boolean; setBf16Gemm(m: string): boolean } }).binding;
  };

  // Reduced precisions. bf16 against the native backend's bf16 (AMX: operands rounded to bf16 the
  // same way, fp32 accumulation) where this CPU has it: only the summation order differs, so 1e-4.
  // tf32 has no CPU twin: against fp32, with the stated tolerance 3e-2 (|a - b| <= tol max(1, |b|)):
  // 10 mantissa bits, 2^-11 relative per operand, over K = 64 products of unit normals.
  const nativeBf16 = (): boolean => { tf.setBackend('native'); return setNativePrecision('bf16') && setNativePrecision('fp32'); };
  for (const precision of ['tf32', 'bf16'] as const) {
    test(`matmul in ${precision}: close to the CPU's (stated tolerance), and not equal to fp32`, () => {
      // big enough (>= 256K multiply-adds) for the native backend's AMX path
      const f = () => [tf.matMul(rand(50, [128, 64]), rand(51, [64, 64])), tf.matMul(rand(52, [64, 128]), rand(53, [64, 64]), true, false)];
      const binding = deviceBinding();
      const exact = on(backend, f);
      const twin = precision === 'bf16' && nativeBf16();
      assert.ok(binding.setPrecision(precision));
      if (twin) { tf.setBackend('native'); setNativePrecision('bf16'); }
      try {
        same(`matmul ${precision}`, f, twin ? 1e-4 : 3e-2);
        const reduced = on(backend, f);
        assert.ok(reduced[0].values.some((v, i) => v !== exact[0].values[i]), `${precision} rounds the operands`);
        if (precision === 'bf16') {
          // operands copied to bf16 before the GEMM: the same products, so the same twin tolerance,
          // and on the emulator's SIMT kernel (same summation order) the same bits
          assert.ok(binding.setBf16Gemm('bf16-copies'));
          same('matmul bf16, bf16 copies', f, twin ? 1e-4 : 3e-2);
          const copies = on(backend, f);
          if (backend === 'cuda-emu') copies.forEach((c, i) => assert.equal(c.values, reduced[i].values, `output ${i}: bf16 copies`));
          assert.ok(!binding.setBf16Gemm('bf16'), 'an unknown name is refused');
        }
      } finally {
        binding.setBf16Gemm('round-in-gemm');
        binding.setPrecision('fp32');
        tf.setBackend('native');
        setNativePrecision('fp32');
      }
    });
  }

  // bf16 attention runs on the tensor cores (q, k, v, the weights and dS rounded to bf16; the CPU has
  // no such kernel, so against fp32 on this backend): within 3e-2 (|a - b| <= tol max(1, |b|); 8
  // mantissa bits per operand and weight, sums over up to 11 keys), and not equal.
  test('causal attention in bf16: the tensor-core kernels, close to fp32 and not equal', () => {
    const f = () => {
      const [q, k, v] = [60, 61, 62].map((s) => rand(s, [2, 3, 11, 8]));
      const opts = { dropout: 0.2, seed: 1337, callId: 5 };
      const g = (qq: tf.Tensor, kk: tf.Tensor, vv: tf.Tensor) => causalAttention(qq, kk, vv, opts).mul(rand(63, [2, 3, 11, 8])).sum();
      return [causalAttention(q, k, v, opts), ...tf.grads(g)([q, k, v])];
    };
    const binding = deviceBinding();
    const exact = on(backend, f);
    assert.ok(binding.setPrecision('bf16'));
    try {
      const reduced = on(backend, f);
      reduced.forEach((r, i) => {
        r.values.forEach((a, j) => assert.ok(close(a, exact[i].values[j], 3e-2), `output ${i} element ${j}: ${a} in bf16, ${exact[i].values[j]} in fp32`));
        assert.ok(r.values.some((a, j) => a !== exact[i].values[j]), `output ${i}: bf16 rounds`);
      });
    } finally {
      binding.setPrecision('fp32');
      tf.setBackend('native');
    }
  });

  test('fused ops and their gradients match the native CPU backend', () => {
    same('layer norm', () => {
      const x = rand(14, [6, 33]), g = rand(15, [33]).add(1), b = rand(16, [33]);
      const f = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => layerNorm(xx, gg, bb, 1e-5).mul(rand(17, [6, 33])).sum();
      return [layerNorm(x, g, b, 1e-5), ...tf.grads(f)([x, g, b])];
    });
    for (const rate of [0, 0.2]) {
      same(`causal attention, dropout ${rate}`, () => {
        const [q, k, v] = [18, 19, 20].map((s) => rand(s, [2, 3, 11, 8]));
        const opts = { dropout: rate, seed: 1337, callId: 5 };
        const f = (qq: tf.Tensor, kk: tf.Tensor, vv: tf.Tensor) => causalAttention(qq, kk, vv, opts).mul(rand(21, [2, 3, 11, 8])).sum();
        return [causalAttention(q, k, v, opts), ...tf.grads(f)([q, k, v])];
      });
    }
    same('cross-entropy', () => {
      const logits = rand(22, [10, 65], 2), targets = tf.tensor([0, 64, 3, 3, 10, 20, 30, 40, 50, 60], [10], 'int32');
      return [softmaxCrossEntropy(logits, targets), tf.grad((l: tf.Tensor) => softmaxCrossEntropy(l, targets))(logits)];
    });
    same('dropout, embedding, gelu', () => {
      const x = rand(23, [7, 9]), table = rand(24, [11, 6]), ids = tf.tensor([[1, 10, 1], [0, 5, 1]], [2, 3], 'int32');
      return [dropout(x, 0.3, 7, 9), tf.grad((xx: tf.Tensor) => dropout(xx, 0.3, 7, 9).mul(x).sum())(x),
        embedding(table, ids), tf.grad((t: tf.Tensor) => embedding(t, ids).mul(rand(25, [2, 3, 6])).sum())(table),
        gelu(x), tf.grad((xx: tf.Tensor) => gelu(xx).mul(x).sum())(x)];
    });
  });

  for (const [act, rate] of [['relu', 0], ['relu', 0.2], ['gelu', 0.1]] as const) {
    test(`the fused transformer block (${act}, dropout ${rate}) and its twelve gradients`, () => {
      const B = 2, T = 9, C = 16, H = 4, F = 4 * C;
      const shapes: Record<keyof BlockWeights, number[]> = {
        ln1g: [C], ln1b: [C], wqkv: [C, 3 * C], wproj: [C, C], bproj: [C], ln2g: [C], ln2b: [C], wfc: [C, F], bfc: [F], wfp: [F, C], bfp: [C],
      };
      const names = Object.keys(shapes) as (keyof BlockWeights)[];
      const opts = { nHead: H, activation: act, eps: 1e-5, attnDropout: rate, projDropout: rate, ffDropout: rate, seed: 42,
        attnCallId: 1, projCallId: 2, ffCallId: 3 };
      same('block', () => {
        const x = rand(30, [B, T, C]), dy = rand(31, [B, T, C]);
        const ws = names.map((k, i) => rand(40 + i, shapes[k], k.startsWith('ln') && k.endsWith('g') ? 0.1 : 0.3).add(k.startsWith('ln') && k.endsWith('g') ? 1 : 0));
        const f = (...ts: tf.Tensor[]) => {
          const w = Object.fromEntries(names.map((k, i) => [k, ts[i + 1]])) as unknown as BlockWeights;
          return activeFused().transformerBlock!(ts[0], w, opts).mul(dy).sum();
        };
        const w = Object.fromEntries(names.map((k, i) => [k, ws[i]])) as unknown as BlockWeights;
        return [activeFused().transformerBlock!(x, w, opts), ...tf.grads(f)([x, ...ws])];
      });
    });
  }

  test('a kernel without device code runs through the host fallback', () => {
    same('cumsum', () => tf.cumsum(rand(26, [4, 5]), 1), tol, false);
    assert.ok((fallbackCounts.get('Cumsum') ?? 0) > 0, 'Cumsum went through the fallback');
  });

}
