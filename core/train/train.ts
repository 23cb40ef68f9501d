// One run: build the model, train it with AdamW, evaluate as the lecture does (mean loss over
// eval_iters random batches of each split, every eval_interval steps and at the end), time each
// step with the backend synchronised, and generate a sample.
import * as tf from '../tf.ts';
import type { Corpus } from '../data/corpus.ts';
import { buildModel, type Model } from '../model/build.ts';
import { adamw, softmaxCrossEntropy } from '../ops/fused.ts';
import { PhiloxStream, Streams } from '../random/philox.ts';
import { sampleBatch } from './batches.ts';
import { learningRate } from './schedule.ts';
import { quantile } from './stats.ts';

export type RunStatus = 'ok' | 'diverged' | 'interrupted' | 'error';

export interface CurvePoint { step: number; train_loss: number; val_loss: number; lr: number }

export interface TrainResult {
  params: number;
  steps: number;
  trainLoss: number;
  valLoss: number;
  bestValLoss: number;
  msMedian: number;
  msP95: number;
  tokensPerS: number;
  trainS: number;
  evalS: number;
  wallS: number;
  curve: CurvePoint[];
  sample: string;
  status: RunStatus;
  error: string;
}

export interface Progress { step: number; steps: number; loss: number; msPerStep: number }

export interface TrainHooks {
  onProgress?(p: Progress): void;
  onEval?(c: CurvePoint): void;
  /** checked between steps: true finishes the run early as 'interrupted' */
  shouldStop?(): boolean;
}

/** Sequences per forward pass when evaluating: big enough to amortise per-op overhead. */
const EVAL_TOKENS_PER_CHUNK = 32768;

export function lossOf(model: Model, x: tf.Tensor, y: tf.Tensor, fc: { training: boolean; seed: number; nextCallId(): number }): tf.Scalar {
  const logits = model.forward(x, fc); // (B, T, V)
  const V = logits.shape[2]!;
  return softmaxCrossEntropy(logits.reshape([-1, V]), y.reshape([-1]));
}

export async function trainRun(cfg: any, corpus: Corpus, hooks: TrainHooks = {}): Promise<TrainResult> {
  const t0 = performance.now();
  const B: number = cfg.train.batch_size, T: number = cfg.model.vars.block_size, steps: number = cfg.train.steps;
  const seed: number = cfg.seed;
  const opt = cfg.train.optimizer.adamw;
  const model = buildModel(cfg.model.layers, { vocabSize: corpus.tokenizer.vocabSize, blockSize: T, init: cfg.model.init, seed, dry: false });
  const vars = model.params.map((p) => p.v!);
  const m = vars.map((v) => tf.variable(tf.zerosLike(v), false));
  const v2 = vars.map((v) => tf.variable(tf.zerosLike(v), false));
  const decay = model.params.map((p) => opt.decay === 'all' || p.shape.length >= 2);
  const trainRng = new PhiloxStream(seed, Streams.trainBatches);
  const evalRng = new PhiloxStream(seed, Streams.evalBatches);
  let callId = 0;
  const fcTrain = { training: true, seed, nextCallId: () => ++callId };
  const fcEval = { training: false, seed, nextCallId: () => 0 };

  const estimate = (data: Int32Array): number => {
    const iters: number = cfg.train.eval.iters;
    const perChunk = Math.max(1, Math.floor(EVAL_TOKENS_PER_CHUNK / (B * T)));
    let total = 0;
    for (let done = 0; done < iters; done += perChunk) {
      const k = Math.min(perChunk, iters - done);
      const xs = new Int32Array(k * B * T), ys = new Int32Array(k * B * T);
      for (let j = 0; j < k; j++) {
        const { x, y } = sampleBatch(data, B, T, evalRng);
        xs.set(x, j * B * T); ys.set(y, j * B * T);
      }
      // the mean over k equal batches is the mean of their means
      const l = tf.tidy(() => lossOf(model, tf.tensor2d(xs, [k * B, T], 'int32'), tf.tensor2d(ys, [k * B, T], 'int32'), fcEval));
      total += l.dataSync()[0] * k;
      l.dispose();
    }
    return total / iters;
  };

  const curve: CurvePoint[] = [];
  const stepMs: number[] = [];
  let evalMs = 0, trainMs = 0;
  let status: RunStatus = 'ok', error = '';
  let bestVal = Infinity, lastTrain = NaN, lastVal = NaN, lr = opt.lr;
  const evaluate = (step: number) => {
    const e0 = performance.now();
    lastTrain = estimate(corpus.train);
    lastVal = estimate(corpus.val);
    evalMs += performance.now() - e0;
    if (lastVal < bestVal) bestVal = lastVal;
    const c = { step, train_loss: lastTrain, val_loss: lastVal, lr };
    curve.push(c);
    hooks.onEval?.(c);
  };

  const warm = Math.min(cfg.train.timing_warmup, Math.floor(steps / 5));
  let stepsDone = 0;
  try {
    for (let step = 0; step < steps; step++) {
      if (step % cfg.train.eval.interval === 0) evaluate(step);
      if (hooks.shouldStop?.()) { status = 'interrupted'; break; }
      lr = learningRate(step, steps, opt.lr, cfg.train.schedule);
      const { x, y } = sampleBatch(corpus.train, B, T, trainRng);
      const s0 = performance.now();
      const loss = tf.tidy(() => {
        const xb = tf.tensor2d(x, [B, T], 'int32'), yb = tf.tensor2d(y, [B, T], 'int32');
        const { value, grads } = tf.variableGrads(() => lossOf(model, xb, yb, fcTrain), vars);
        let g = vars.map((v) => grads[v.name] ?? tf.zerosLike(v));
        if (cfg.train.grad_clip) g = clipByGlobalNorm(g, cfg.train.grad_clip);
        adamw(vars, g, m, v2, { lr, beta1: opt.betas[0], beta2: opt.betas[1], eps: opt.eps, weightDecay: opt.weight_decay, step: step + 1 }, decay);
        return value;
      });
      const lossValue = loss.dataSync()[0]; // waits for the backend: the step is complete
      loss.dispose();
      const dt = performance.now() - s0;
      trainMs += dt;
      if (step >= warm) stepMs.push(dt);
      stepsDone = step + 1;
      if (!Number.isFinite(lossValue)) { status = 'diverged'; error = `loss became ${lossValue} at step ${step}`; break; }
      hooks.onProgress?.({ step: step + 1, steps, loss: lossValue, msPerStep: dt });
    }
    if (status === 'ok' || status === 'interrupted') evaluate(stepsDone);
  } catch (e) {
    status = 'error';
    error = (e as Error).message?.split('\n')[0] ?? String(e);
  }

  let sample = '';
  if (status === 'ok' && cfg.output.sample_chars > 0) sample = generate(model, corpus, T, cfg.output.sample_chars, seed);
  model.dispose();
  for (const t of [...m, ...v2]) t.dispose();
  const msMedian = quantile(stepMs, 0.5);
  return {
    params: model.paramCount, steps: stepsDone, trainLoss: lastTrain, valLoss: lastVal,
    bestValLoss: bestVal === Infinity ? NaN : bestVal,
    msMedian, msP95: quantile(stepMs, 0.95), tokensPerS: (B * T) / (msMedian / 1000),
    trainS: trainMs / 1000, evalS: evalMs / 1000, wallS: (performance.now() - t0) / 1000,
    curve, sample, status, error,
  };
}

function clipByGlobalNorm(g: tf.Tensor[], maxNorm: number): tf.Tensor[] {
  const norm = Math.sqrt(tf.addN(g.map((t) => t.square().sum())).dataSync()[0]);
  if (!(norm > maxNorm)) return g;
  const scale = maxNorm / (norm + 1e-6); // as torch.nn.utils.clip_grad_norm_
  return g.map((t) => t.mul(scale));
}

/**
 * Sampling from the trained model, starting from a newline. The context is cropped to the last
 * block_size tokens, so positions beyond block_size are never indexed.
 */
export function generate(model: Model, corpus: Corpus, T: number, chars: number, seed: number): string {
  const tok = corpus.tokenizer;
  const rng = new PhiloxStream(seed, Streams.sample);
  let start = 0;
  try { start = tok.encode('\n')[0] ?? 0; } catch { /* no newline in the vocabulary: start from id 0 */ }
  const ids: number[] = [start];
  const fc = { training: false, seed, nextCallId: () => 0 };
  let text = '';
  for (let n = 0; n < chars * 4 && text.length < chars; n++) {
    const ctx = ids.slice(-T);
    const probs = tf.tidy(() => {
      const logits = model.forward(tf.tensor2d(Int32Array.from(ctx), [1, ctx.length], 'int32'), fc); // (1, t, V)
      return tf.softmax(logits.slice([0, ctx.length - 1, 0], [1, 1, -1]).reshape([-1])).dataSync();
    });
    let u = rng.uniform(), next = probs.length - 1;
    for (let i = 0; i < probs.length; i++) { u -= probs[i]; if (u < 0) { next = i; break; } }
    ids.push(next);
    text = tok.decode(ids.slice(1));
  }
  return text.slice(0, chars);
}
