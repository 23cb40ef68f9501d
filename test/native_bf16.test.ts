// precision: bf16 on the native CPU backend (AMX-BF16 matmuls, fp32 accumulation): matmuls
// round their inputs to bf16 and nothing else, training stays close to fp32, stays bit for bit
// reproducible, and the setting never leaks past its run. Skipped (counted) without AMX.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '../core/tf.ts';
import { gptLayers } from '../core/model/presets.ts';
import { trainRun } from '../core/train/train.ts';
import { loadNativeBackend, setNativePrecision } from '../native/index.ts';
import { directTrainConfig, tinyCorpus } from './helpers.ts';

const test = suite('native bf16');
const status = loadNativeBackend();
const name = 'precision bf16 on the native backend';

/** fp32 -> nearest bf16 (ties to even), as the GEMM's packers round */
function roundBf16(a: Float32Array): Float32Array {
  const u = new Uint32Array(a.slice().buffer);
  for (let i = 0; i < u.length; i++) u[i] = ((u[i] + 0x7fff + ((u[i] >>> 16) & 1)) & 0xffff0000) >>> 0;
  return new Float32Array(u.buffer);
}

if (!status.ok || !status.precisions?.includes('bf16')) {
  console.log(`skipped: ${name}: ${status.ok ? 'this CPU has no AMX-BF16' : `no native backend (${status.reason})`}`);
  test.skip(name, () => {});
} else {
  const corpus = tinyCorpus();
  const cfg = (precision: string) => directTrainConfig({
    layers: gptLayers({ n_embd: 64, n_head: 4, n_layer: 2, dropout: 0.1 }), blockSize: 32, batchSize: 16, steps: 30, precision,
  });
  const losses = async (precision: string) => {
    await tf.setBackend('native');
    const out: number[] = [];
    const r = await trainRun(cfg(precision), corpus, { onProgress: (p) => { out.push(p.loss); } });
    assert.is(r.status, 'ok');
    return out;
  };

  test('a bf16 matmul equals the fp32 product of the bf16-rounded inputs', async () => {
    await tf.setBackend('native');
    const [M, K, N] = [96, 200, 80];
    const a = tf.randomUniform([M, K], -1, 1, 'float32', 1), b = tf.randomUniform([K, N], -1, 1, 'float32', 2);
    const ar = tf.tensor2d(roundBf16(a.dataSync() as Float32Array), [M, K]), br = tf.tensor2d(roundBf16(b.dataSync() as Float32Array), [K, N]);
    const exact = tf.matMul(a, b).dataSync(), ofRounded = tf.matMul(ar, br).dataSync();
    assert.ok(setNativePrecision('bf16'));
    let got: Float32Array;
    try { got = tf.matMul(a, b).dataSync() as Float32Array; } finally { setNativePrecision('fp32'); }
    let vsRounded = 0, vsExact = 0;
    for (let i = 0; i < got.length; i++) {
      vsRounded = Math.max(vsRounded, Math.abs(got[i] - ofRounded[i]));
      vsExact = Math.max(vsExact, Math.abs(got[i] - exact[i]));
    }
    console.log(`  max |bf16 - fp32(rounded inputs)| ${vsRounded.toExponential(2)}, max |bf16 - fp32| ${vsExact.toExponential(2)}`);
    assert.ok(vsRounded < 1e-4, `vs rounded inputs: ${vsRounded}`);  // only fp32 summation order differs
    assert.ok(vsExact > 1e-4, `bf16 rounding should show against exact fp32: ${vsExact}`);  // it really ran in bf16
    assert.ok(vsExact < 0.1, `vs fp32: ${vsExact}`);
    tf.dispose([a, b, ar, br]);
  });

  test('30 training steps in bf16: close to fp32, bit for bit reproducible, precision reset after the run', async () => {
    const fp32 = await losses('fp32');
    const bf16 = await losses('bf16');
    const again = await losses('bf16');
    assert.equal(again, bf16, 'same seed, same precision: same losses');
    let maxDiff = 0, same = 0;
    for (let i = 0; i < fp32.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(bf16[i] - fp32[i]));
      if (bf16[i] === fp32[i]) same++;
    }
    console.log(`  max |loss bf16 - fp32| over 30 steps: ${maxDiff.toExponential(2)}`);
    assert.ok(maxDiff < 0.05, `bf16 drifted ${maxDiff} from fp32`);
    assert.ok(same < fp32.length, 'bf16 gave exactly the fp32 losses: the matmuls did not run in bf16');
    assert.ok(bf16[29] < bf16[0], 'the loss goes down');
    const after = await losses('fp32');
    assert.equal(after, fp32, 'a bf16 run left the backend in bf16');
  });
}

test.run();
