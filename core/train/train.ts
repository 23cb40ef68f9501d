// One run: build the model, train it with AdamW, evaluate as the lecture does (mean loss over
// eval_iters random batches of each split, every eval_interval steps and at the end), time each
// step with the backend synchronised, and generate a sample. With train.checkpoint it saves its
// whole state every N steps (core/train/checkpoint.ts) and resumes from it, bit for bit.
import * as tf from '../tf.ts';
import type { Corpus } from '../data/corpus.ts';
import { buildModel, type Model } from '../model/build.ts';
import { applyPrecision } from '../backend.ts';
import { adamw, softmaxCrossEntropy } from '../ops/fused.ts';
import { PhiloxStream, Streams } from '../random/philox.ts';
import { sampleBatch } from './batches.ts';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.ts';
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
  /** for status 'error': the full stack trace (for the run's log file, never the terminal) */
  detail?: string;
  /** for status 'error': not a failure nanolab anticipates (out of memory is anticipated) */
  unexpected?: boolean;
  /** the step a checkpoint resumed the run from (0: from the start) */
  resumedFrom: number;
}

export interface Progress { step: number; steps: number; loss: number; msPerStep: number }

export interface TrainHooks {
  onProgress?(p: Progress): void;
  onEval?(c: CurvePoint): void;
  /** checked between steps: true finishes the run early as 'interrupted' */
  shouldStop?(): boolean;
  /**
   * Where this run's checkpoints live (`<out>/checkpoints/<run_id>`, without extension); used
   * when the config has train.checkpoint. An existing checkpoint there is resumed from.
   */
  checkpoint?: { path: string; runId: string; backend: string; onNotice?(message: string): void };
}

/** Sequences per forward pass when evaluating: big enough to amortise per-op overhead. */
const EVAL_TOKENS_PER_CHUNK = 32768;

export function lossOf(model: Model, x: tf.Tensor, y: tf.Tensor, fc: { training: boolean; seed: number; nextCallId(): number }): tf.Scalar {
  const logits = model.forward(x, fc); // (B, T, V)
  const V = logits.shape[2]!;
  return softmaxCrossEntropy(logits.reshape([-1, V]), y.reshape([-1]));
}

/** Lets the event loop run (signal handlers: Ctrl-C) between steps; costs microseconds. */
const yieldToEventLoop = () => new Promise<void>((r) => setImmediate(r));

/** A failure as the user sees it: one line, and whether it is one nanolab anticipates. */
export function describeError(e: unknown): { message: string; unexpected: boolean; detail: string } {
  const err = e instanceof Error ? e : new Error(String(e));
  const first = (err.message ?? String(e)).split('\n')[0];
  const detail = err.stack ?? `${err.name}: ${err.message}`;
  if (/allocation failed|invalid (typed )?array length|array buffer allocation|bad_alloc|out of memory|cannot allocate|ENOMEM/i.test(first)) {
    return { message: `out of memory (${first}): reduce batch_size, block_size or the model's size`, unexpected: false, detail };
  }
  return { message: first, unexpected: true, detail };
}

export async function trainRun(cfg: any, corpus: Corpus, hooks: TrainHooks = {}): Promise<TrainResult> {
  // precision (bf16 matmuls on a native CPU with AMX) holds for this run only
  applyPrecision(cfg.precision ?? 'fp32');
  try {
    return await trainRunAt(cfg, corpus, hooks);
  } finally {
    applyPrecision('fp32');
  }
}

async function trainRunAt(cfg: any, corpus: Corpus, hooks: TrainHooks): Promise<TrainResult> {
  const t0 = performance.now();
  const B: number = cfg.train.batch_size, T: number = cfg.model.vars.block_size, steps: number = cfg.train.steps;
  const seed: number = cfg.seed;
  const opt = cfg.train.optimizer.adamw;
  const every: number = hooks.checkpoint ? cfg.train.checkpoint?.every ?? 0 : 0;
  const trainRng = new PhiloxStream(seed, Streams.trainBatches);
  const evalRng = new PhiloxStream(seed, Streams.evalBatches);
  let callId = 0;
  const fcTrain = { training: true, seed, nextCallId: () => ++callId };
  const fcEval = { training: false, seed, nextCallId: () => 0 };
  let model: Model | null = null;
  let vars: tf.Variable[] = [], m: tf.Variable[] = [], v2: tf.Variable[] = [];

  const estimate = async (data: Int32Array): Promise<number> => {
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
      const l = tf.tidy(() => lossOf(model!, tf.tensor2d(xs, [k * B, T], 'int32'), tf.tensor2d(ys, [k * B, T], 'int32'), fcEval));
      total += l.dataSync()[0] * k;
      l.dispose();
      await yieldToEventLoop();
    }
    return total / iters;
  };

  let curve: CurvePoint[] = [];
  let stepMs: number[] = [];
  let evalMs = 0, trainMs = 0, priorWallMs = 0;
  let status: RunStatus = 'ok', error = '', detail = '', unexpected = false;
  let bestVal = Infinity, lastTrain = NaN, lastVal = NaN, lr = opt.lr;
  const evaluate = async (step: number) => {
    const e0 = performance.now();
    lastTrain = await estimate(corpus.train);
    lastVal = await estimate(corpus.val);
    evalMs += performance.now() - e0;
    if (lastVal < bestVal) bestVal = lastVal;
    const c = { step, train_loss: lastTrain, val_loss: lastVal, lr };
    curve.push(c);
    hooks.onEval?.(c);
  };

  let savedAt = -1;
  const save = (stepsDone: number) => {
    const ck = hooks.checkpoint!;
    const read = (prefix: string, list: tf.Variable[]) => list.map((t, i) => ({ name: `${prefix}${i}`, shape: t.shape, values: t.dataSync() as Float32Array }));
    saveCheckpoint(ck.path, {
      runId: ck.runId, backend: ck.backend, step: stepsDone, callId,
      rng: { train: trainRng.getState(), eval: evalRng.getState() },
      curve, stepMs, trainMs, evalMs, wallMs: priorWallMs + performance.now() - t0, bestVal, lastTrain, lastVal, lr,
    }, [...read('param', vars), ...read('adam_m', m), ...read('adam_v', v2)]);
    savedAt = stepsDone;
  };
  const restore = (): number => {
    const ck = hooks.checkpoint!;
    const c = loadCheckpoint(ck.path, ck.runId, (why) => ck.onNotice?.(`ignoring the checkpoint in ${ck.path}.json (${why}); starting over`));
    if (!c) return 0;
    const s = c.state;
    const lists: [string, tf.Variable[]][] = [['param', vars], ['adam_m', m], ['adam_v', v2]];
    for (const [prefix, list] of lists) {
      for (const [i, t] of list.entries()) {
        const vals = c.values.get(`${prefix}${i}`);
        if (!vals || vals.length !== t.size) {
          ck.onNotice?.(`ignoring the checkpoint in ${ck.path}.json (its tensors do not fit this model); starting over`);
          return 0;
        }
      }
    }
    for (const [prefix, list] of lists) {
      for (const [i, t] of list.entries()) {
        const x = tf.tensor(Float32Array.from(c.values.get(`${prefix}${i}`)!), t.shape, 'float32');
        t.assign(x);
        x.dispose();
      }
    }
    trainRng.setState(s.rng.train); evalRng.setState(s.rng.eval);
    callId = s.callId;
    curve = s.curve; stepMs = s.stepMs; trainMs = s.trainMs; evalMs = s.evalMs; priorWallMs = s.wallMs;
    bestVal = s.bestVal; lastTrain = s.lastTrain; lastVal = s.lastVal; lr = s.lr;
    savedAt = s.step;
    if (s.backend !== ck.backend) ck.onNotice?.(`the checkpoint was written by backend ${s.backend}, this run uses ${ck.backend}: losses may differ in the last digits from an uninterrupted run`);
    return s.step;
  };

  const warm = Math.min(cfg.train.timing_warmup, Math.floor(steps / 5));
  let stepsDone = 0, resumedFrom = 0, params = 0;
  try {
    model = buildModel(cfg.model.layers, { vocabSize: corpus.tokenizer.vocabSize, blockSize: T, init: cfg.model.init, seed, dry: false });
    params = model.paramCount;
    vars = model.params.map((p) => p.v!);
    const zeros = (v: tf.Variable) => tf.tidy(() => tf.variable(tf.zerosLike(v), false)); // no stray initial tensor
    m = vars.map(zeros);
    v2 = vars.map(zeros);
    const decay = model.params.map((p) => opt.decay === 'all' || p.shape.length >= 2);
    if (every) stepsDone = resumedFrom = restore();
    for (let step = stepsDone; step < steps; step++) {
      if (hooks.shouldStop?.()) {
        status = 'interrupted';
        if (every && stepsDone > 0 && savedAt !== stepsDone) save(stepsDone);
        break;
      }
      if (step % cfg.train.eval.interval === 0) await evaluate(step);
      lr = learningRate(step, steps, opt.lr, cfg.train.schedule);
      const { x, y } = sampleBatch(corpus.train, B, T, trainRng);
      const s0 = performance.now();
      const loss = tf.tidy(() => {
        const xb = tf.tensor2d(x, [B, T], 'int32'), yb = tf.tensor2d(y, [B, T], 'int32');
        const { value, grads } = tf.variableGrads(() => lossOf(model!, xb, yb, fcTrain), vars);
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
      if (every && stepsDone % every === 0 && stepsDone < steps) save(stepsDone);
      await yieldToEventLoop();
    }
    if (status === 'ok' || status === 'interrupted') await evaluate(stepsDone);
  } catch (e) {
    status = 'error';
    ({ message: error, detail, unexpected } = describeError(e));
  }

  let sample = '';
  try {
    if (status === 'ok' && cfg.output.sample_chars > 0) sample = generate(model!, corpus, T, cfg.output.sample_chars, seed);
  } catch (e) {
    status = 'error';
    ({ message: error, detail, unexpected } = describeError(e));
  }
  model?.dispose();
  for (const t of [...m, ...v2]) t.dispose();
  const msMedian = quantile(stepMs, 0.5);
  return {
    params, steps: stepsDone, trainLoss: lastTrain, valLoss: lastVal,
    bestValLoss: bestVal === Infinity ? NaN : bestVal,
    msMedian, msP95: quantile(stepMs, 0.95), tokensPerS: (B * T) / (msMedian / 1000),
    trainS: trainMs / 1000, evalS: evalMs / 1000, wallS: (priorWallMs + performance.now() - t0) / 1000,
    curve, sample, status, error, detail: detail || undefined, unexpected: status === 'error' ? unexpected : undefined, resumedFrom,
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
