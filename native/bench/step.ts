// One training step (forward, backward, AdamW) on fixed token ids, for the native benchmarks:
// the same ops as core/train/train.ts without its batching, evaluation and bookkeeping.
import * as tf from '../../core/tf.ts';
import { buildModel } from '../../core/model/build.ts';
import { adamw } from '../../core/ops/fused.ts';
import { lossOf } from '../../core/train/train.ts';

export interface BenchStep { step(i: number): number; dispose(): void }

/** `ids(i, x, y)` fills step i's inputs and targets (B * T each). */
export function makeBenchStep(layers: unknown[], o: { B: number; T: number; V: number },
  ids: (i: number, x: Int32Array, y: Int32Array) => void): BenchStep {
  const model = buildModel(layers, { vocabSize: o.V, blockSize: o.T, init: 'pytorch', seed: 1, dry: false });
  const vars = model.params.map((p) => p.v!);
  const zeros = (v: tf.Variable) => tf.tidy(() => tf.variable(tf.zerosLike(v), false));
  const m = vars.map(zeros), v2 = vars.map(zeros);
  const decay = model.params.map((p) => p.shape.length >= 2);
  let callId = 0;
  const fc = { training: true, seed: 1, nextCallId: () => ++callId };
  const x = new Int32Array(o.B * o.T), y = new Int32Array(o.B * o.T);
  return {
    step(i) {
      ids(i, x, y);
      const loss = tf.tidy(() => {
        const xb = tf.tensor2d(x, [o.B, o.T], 'int32'), yb = tf.tensor2d(y, [o.B, o.T], 'int32');
        const { value, grads } = tf.variableGrads(() => lossOf(model, xb, yb, fc), vars);
        adamw(vars, vars.map((v) => grads[v.name]), m, v2, { lr: 1e-3, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.01, step: i + 1 }, decay);
        return value;
      });
      const l = loss.dataSync()[0];
      loss.dispose();
      return l;
    },
    dispose() { model.dispose(); tf.dispose([...m, ...v2]); },
  };
}
