// What the whole-step benchmarks share: the three model sizes of ../shared/reference/bench_step.py,
// a generated corpus with Tiny Shakespeare's 65 characters (the vocabulary sets the lm_head's
// size), and the training config of one timed run (dropout 0.2, AdamW, no evaluation).
import { gptLayers } from '../core/model/presets.ts';
import { charTokenizer } from '../core/tokenizers/char.ts';

/** batch, block, n_embd, heads, layers */
export const SIZES: Record<string, [number, number, number, number, number]> = {
  small: [32, 8, 32, 4, 3], medium: [16, 64, 128, 4, 4], full: [64, 256, 384, 6, 6],
};

export function syntheticCorpus() {
  const chars = "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  let text = '';
  for (let i = 0; text.length < 200_000; i++) text += chars[(i * 7919) % chars.length];
  const tokenizer = charTokenizer(text);
  const ids = tokenizer.encode(text);
  return { text, source: 'generated', tokenizer, train: ids.subarray(0, 180_000), val: ids.subarray(180_000), sha256: '' };
}

/** A run of `warm + timed` steps of the size's model; ms/step leaves the `warm` steps out. */
export function stepConfig(size: string, precision: string, warm: number, timed: number) {
  const [B, T, C, H, L] = SIZES[size];
  return {
    seed: 1337, precision,
    model: {
      init: 'pytorch', vars: { block_size: T },
      layers: gptLayers({ n_embd: C, n_head: H, n_layer: L, dropout: 0.2 }),
    },
    train: {
      steps: warm + timed, batch_size: B, timing_warmup: warm, grad_clip: undefined,
      optimizer: { adamw: { lr: 3e-4, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0.01, decay: 'all' } },
      schedule: { warmup_steps: 0, decay: 'none', min_lr: 0 },
      eval: { interval: 1e9, iters: 1 },
    },
    output: { sample_chars: 0 },
  };
}
