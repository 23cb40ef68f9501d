/** Learning rate at `step` (0-based): linear warm-up, then constant or cosine decay to min_lr. */
export function learningRate(step: number, steps: number, lr: number,
  s: { warmup_steps: number; decay: 'none' | 'cosine'; min_lr: number }): number {
  if (step < s.warmup_steps) return (lr * (step + 1)) / s.warmup_steps;
  if (s.decay === 'none') return lr;
  const span = Math.max(1, steps - s.warmup_steps);
  const progress = Math.min(1, (step - s.warmup_steps) / span);
  return s.min_lr + 0.5 * (lr - s.min_lr) * (1 + Math.cos(Math.PI * progress));
}
