// The columns of results.csv, in order: identity, swept axes, the measurements, the outcome.
export const LEADING_COLUMNS = ['run_id', 'experiment', 'run', 'rung'];
export const TRAILING_COLUMNS = ['seed', 'device', 'backend', 'precision', 'params', 'steps', 'train_loss', 'val_loss', 'best_val_loss',
  'ms_per_step_median', 'ms_per_step_p95', 'tokens_per_s', 'train_s', 'eval_s', 'wall_s', 'status', 'error'];

export function resultColumns(axisNames: string[]): string[] {
  return [...LEADING_COLUMNS, ...axisNames.filter((a) => !LEADING_COLUMNS.includes(a) && !TRAILING_COLUMNS.includes(a)), ...TRAILING_COLUMNS];
}

export type Row = Record<string, string | number>;
