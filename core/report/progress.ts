// Progress on a terminal: one bar for the sweep (runs done, ETA) and one for the current run
// (step, loss, tokens/s), drawn with cli-progress. Training steps run synchronously, so the
// bars are redrawn from the step hook (throttled) instead of cli-progress' timer.
import cliProgress from 'cli-progress';

export interface BarsIO { out(s: string): void }

export class SweepBars {
  private readonly multi: cliProgress.MultiBar;
  private readonly sweep: cliProgress.SingleBar;
  private readonly run: cliProgress.SingleBar;
  private readonly t0 = performance.now();
  private readonly totalSteps: number;
  private doneSteps = 0;
  private runs = 0;
  private current = { steps: 0, step: 0, tokensPerStep: 0, msEma: NaN };
  private lastDraw = 0;
  private label = '';

  /** steps: each run's train.steps, in the order they will run */
  constructor(io: BarsIO, private readonly steps: number[], columns = process.stdout.columns || 100) {
    // cli-progress writes to a stream; this one forwards to io.out so tests can capture it
    const stream = { isTTY: true, columns, write: (s: string) => { io.out(s); return true; } } as unknown as NodeJS.WriteStream;
    this.multi = new cliProgress.MultiBar({
      stream, fps: 10, hideCursor: false, clearOnComplete: false, autopadding: true, barsize: 28, forceRedraw: true,
      format: '{name} |{bar}| {progress} | {info}',
    }, cliProgress.Presets.shades_classic);
    this.multi.on('update-post', () => this.unrefTimer());
    this.totalSteps = steps.reduce((a, b) => a + b, 0) || 1;
    this.sweep = this.multi.create(steps.length, 0, { name: 'sweep', progress: `0/${steps.length} runs`, info: 'starting' });
    this.run = this.multi.create(1, 0, { name: 'run  ', progress: '', info: '' });
    this.unrefTimer();
  }

  startRun(label: string, steps: number, tokensPerStep: number): void {
    this.current = { steps, step: 0, tokensPerStep, msEma: NaN };
    this.run.setTotal(steps);
    this.run.update(0, { progress: `0/${steps} steps`, info: label });
    this.label = label;
    this.draw(true);
  }

  step(p: { step: number; steps: number; loss: number; msPerStep: number }): void {
    const c = this.current;
    c.step = p.step;
    c.msEma = Number.isFinite(c.msEma) ? 0.9 * c.msEma + 0.1 * p.msPerStep : p.msPerStep;
    const tps = c.msEma > 0 ? Math.round(c.tokensPerStep / (c.msEma / 1000)).toLocaleString('en-US') : '?';
    this.run.update(p.step, { progress: `${p.step}/${p.steps} steps`, info: `loss ${p.loss.toFixed(4)} | ${tps} tok/s | ${this.label}` });
    this.draw(p.step === p.steps);
  }

  /** A whole line printed above the bars. */
  log(line: string): void {
    this.multi.log(line.endsWith('\n') ? line : `${line}\n`);
    this.draw(true);
  }

  endRun(): void {
    this.doneSteps += this.steps[this.runs] ?? this.current.steps;
    this.runs++;
    this.current.step = 0;
    this.draw(true);
  }

  stop(): void {
    this.draw(true);
    this.multi.stop();
  }

  private draw(force: boolean): void {
    const now = performance.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    // sweep ETA by steps (runs differ in length): elapsed / fraction done
    const f = (this.doneSteps + this.current.step) / this.totalSteps;
    const elapsed = (now - this.t0) / 1000;
    const eta = f > 0 ? (elapsed * (1 - f)) / f : NaN;
    this.sweep.update(this.runs, { progress: `${this.runs}/${this.steps.length} runs`, info: `${clock(elapsed)} elapsed | ETA ${clock(eta)}` });
    this.multi.update();
  }

  /** cli-progress re-arms a redraw timer on every update; it must never keep the process alive. */
  private unrefTimer(): void {
    (this.multi as unknown as { timer?: NodeJS.Timeout | null }).timer?.unref?.();
  }
}

export function clock(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const t = Math.round(s), h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), sec = t % 60;
  return h ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
}
