// --dry-run time estimates: train each distinct model shape for a few steps on its device
// (the real training loop, via trainRun) and scale the measured step, evaluation and sampling
// costs to the run's settings. Shapes are keyed by the config without seed and step counts.
import { createHash } from 'node:crypto';
import { canonicalJson } from '../config/expand.ts';
import type { Corpus } from '../data/corpus.ts';
import { quantile } from '../train/stats.ts';
import { trainRun } from '../train/train.ts';

const WARMUP_STEPS = 2, TIMED_STEPS = 8, SAMPLE_CHARS = 16;
/** Big models stop timing after this much (at least 2 timed steps, or 1 when one step exceeds
 * it), so a dry run stays short. */
const TIMED_BUDGET_MS = 3000;
/** Tokens per split in the calibration's evaluations: an eighth of trainRun's 32768-token chunk
 * keeps calibration short (evaluation dominates it) and errs on the slow side per token. */
const EVAL_TOKENS = 4096;

export interface Calibration { stepMs: number; evalMsPerToken: number; sampleMsPerChar: number; ok: boolean }

/** What a run's cost depends on: everything but seed, lengths, schedule and reporting. */
export function shapeKey(cfg: any): string {
  const { seed: _s, name: _n, description: _d, output: _o, report: _r, ...rest } = cfg;
  const { steps: _st, eval: _e, schedule: _sc, timing_warmup: _w, ...train } = cfg.train ?? {};
  return createHash('sha256').update(canonicalJson({ ...rest, train })).digest('hex').slice(0, 16);
}

export async function calibrate(cfg: any, corpus: Corpus): Promise<Calibration> {
  const B: number = cfg.train.batch_size, T: number = cfg.model.vars.block_size;
  const iters = Math.max(1, Math.floor(EVAL_TOKENS / (B * T)));
  const sampleChars = Math.min(SAMPLE_CHARS, cfg.output?.sample_chars ?? 0);
  const c = structuredClone(cfg);
  c.train.steps = WARMUP_STEPS + TIMED_STEPS;
  c.train.timing_warmup = WARMUP_STEPS;
  c.train.eval = { interval: 1e9, iters }; // evaluates at step 0 and after the last step
  c.output = { ...c.output, sample_chars: sampleChars };
  const ms: number[] = [];
  let lastStepAt = NaN, evalDoneAt = NaN, budgetHit = false, slow = false;
  const r = await trainRun(c, corpus, {
    onProgress: (p) => {
      // a first step longer than the budget is warm-up enough: time the next one and stop
      if (p.step === 1 && p.msPerStep > TIMED_BUDGET_MS) slow = true;
      if (p.step > (slow ? 1 : WARMUP_STEPS)) ms.push(p.msPerStep);
      lastStepAt = performance.now();
    },
    onEval: (e) => { if (e.step > 0) evalDoneAt = performance.now(); },
    shouldStop: () => (budgetHit = ms.length >= (slow ? 1 : 2) && ms.reduce((a, b) => a + b, 0) > TIMED_BUDGET_MS),
  });
  const end = performance.now();
  // the final evaluation: both splits, iters batches each, after warm steps
  const evalMsPerToken = (evalDoneAt - lastStepAt) / (2 * iters * B * T);
  return {
    stepMs: quantile(ms, 0.5),
    evalMsPerToken,
    // stopped early, the run made no sample: about one forward pass over the context per character
    sampleMsPerChar: !sampleChars ? 0 : budgetHit ? T * evalMsPerToken : (end - evalDoneAt) / sampleChars,
    ok: r.status === 'ok' || (r.status === 'interrupted' && budgetHit),
  };
}

/** Seconds a run should take: steps, every evaluation (including the one at the end), the sample. */
export function estimateSeconds(cfg: any, c: Calibration): number {
  if (!c.ok) return NaN;
  const steps: number = cfg.train.steps, B: number = cfg.train.batch_size, T: number = cfg.model.vars.block_size;
  const evals = Math.ceil(steps / cfg.train.eval.interval) + 1;
  const evalTokens = 2 * cfg.train.eval.iters * B * T;
  return (steps * c.stepMs + evals * evalTokens * c.evalMsPerToken + (cfg.output?.sample_chars ?? 0) * c.sampleMsPerChar) / 1000;
}

export interface EstimateRun { id: string; config: any; device: string }

/** One calibration per distinct shape; returns seconds per run id and how long calibrating took. */
export async function estimateRuns(runs: EstimateRun[], ctx: {
  corpus(cfg: any): Corpus; activate(device: string): Promise<void>; shouldStop?(): boolean;
}): Promise<{ seconds: Map<string, number>; shapes: number; calibrationS: number; stopped: boolean }> {
  const t0 = performance.now();
  const cache = new Map<string, Calibration>();
  const seconds = new Map<string, number>();
  let stopped = false;
  for (const r of runs) {
    const key = shapeKey(r.config);
    let c = cache.get(key);
    if (!c) {
      if (ctx.shouldStop?.()) { stopped = true; break; }
      await ctx.activate(r.device);
      try { c = await calibrate(r.config, ctx.corpus(r.config)); } catch { c = { stepMs: NaN, evalMsPerToken: NaN, sampleMsPerChar: NaN, ok: false }; }
      cache.set(key, c);
    }
    seconds.set(r.id, estimateSeconds(r.config, c));
  }
  return { seconds, shapes: cache.size, calibrationS: (performance.now() - t0) / 1000, stopped };
}
