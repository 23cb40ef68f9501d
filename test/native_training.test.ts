// 20 training steps of the small ladder model (blocks, residual, projection, layer norm,
// dropout 0.2, AdamW) on the native backend give tfjs' JS backend's losses to 1e-4.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '../core/tf.ts';
import { gptLayers } from '../core/model/presets.ts';
import { trainRun } from '../core/train/train.ts';
import { nativeAvailable } from '../native/test/tf_helpers.ts';
import { directTrainConfig, tinyCorpus } from './helpers.ts';

const test = suite('native training');

if (nativeAvailable(test, 'native training test')) {
  const corpus = tinyCorpus();
  const cfg = directTrainConfig({
    layers: gptLayers({ n_embd: 32, n_head: 4, n_layer: 3, dropout: 0.2 }), blockSize: 8, batchSize: 32, steps: 20,
  });
  const losses = async (backend: string) => {
    await tf.setBackend(backend);
    const out: number[] = [];
    const r = await trainRun(cfg, corpus, { onProgress: (p) => { out.push(p.loss); } });
    assert.is(r.status, 'ok');
    return out;
  };

  test('20 steps of the small ladder model: native losses equal the JS backend\'s to 1e-4', async () => {
    const js = await losses('cpu');
    const native = await losses('native'); // last, so later tests find the native backend active
    assert.is(native.length, 20);
    let maxDiff = 0;
    for (let i = 0; i < 20; i++) maxDiff = Math.max(maxDiff, Math.abs(native[i] - js[i]));
    console.log(`  max |loss difference| over 20 steps: ${maxDiff.toExponential(2)}`);
    assert.ok(maxDiff < 1e-4, `max difference ${maxDiff}`);
    assert.ok(js[19] < js[0], 'the loss goes down');
  });
}

test.run();
