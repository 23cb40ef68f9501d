// Training checkpoints: `train.checkpoint: {every: N}` saves, every N steps (and when a run is
// interrupted), everything the rest of the run depends on, so that a rerun resumes there and
// produces exactly the losses an uninterrupted run would have (same backend):
//   <out>/checkpoints/<run_id>.bin   the weights, then AdamW's first and second moments (float32)
//   <out>/checkpoints/<run_id>.json  step, random stream positions, dropout call counter, the
//                                    curve so far, timing sums, and the .bin's size and sha256
// Both files are written atomically (tmp + fsync + rename), the .bin first. A kill between the
// two leaves a .json whose checksum does not match the .bin: the checkpoint is then ignored and
// the run starts over (slower, never wrong).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import type { PhiloxState } from '../random/philox.ts';
import { writeAtomic } from '../results/files.ts';

export const CHECKPOINT_FORMAT = 1;

export interface TensorEntry { name: string; shape: number[]; offset: number; length: number }

/** What a run's loop needs to continue: everything but the tensors' values. */
export interface CheckpointState {
  format: number;
  runId: string;
  backend: string;
  /** training steps done: the run continues with step `step` (0-based) */
  step: number;
  /** dropout calls made so far (the next call id is callId + 1) */
  callId: number;
  rng: { train: PhiloxState; eval: PhiloxState };
  curve: { step: number; train_loss: number; val_loss: number; lr: number }[];
  stepMs: number[];
  trainMs: number;
  evalMs: number;
  wallMs: number;
  bestVal: number;
  lastTrain: number;
  lastVal: number;
  lr: number;
  tensors: TensorEntry[];
  bytes: number;
  sha256: string;
}

export type CheckpointMeta = Omit<CheckpointState, 'format' | 'tensors' | 'bytes' | 'sha256'>;

export const checkpointPaths = (base: string) => ({ bin: `${base}.bin`, json: `${base}.json` });

// JSON has no NaN or Infinity: the losses before the first evaluation are NaN, bestVal Infinity
const encode = (_k: string, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? { $number: String(v) } : v);
const decode = (_k: string, v: unknown) => (v && typeof v === 'object' && '$number' in v && Object.keys(v).length === 1 ? Number((v as { $number: string }).$number) : v);

export function saveCheckpoint(base: string, meta: CheckpointMeta, tensors: { name: string; shape: number[]; values: Float32Array }[]): void {
  const { bin, json } = checkpointPaths(base);
  mkdirSync(dirname(base), { recursive: true });
  const total = tensors.reduce((a, t) => a + t.values.length, 0);
  const buf = Buffer.alloc(total * 4);
  const entries: TensorEntry[] = [];
  let offset = 0;
  for (const t of tensors) {
    Buffer.from(t.values.buffer, t.values.byteOffset, t.values.byteLength).copy(buf, offset * 4);
    entries.push({ name: t.name, shape: t.shape, offset, length: t.values.length });
    offset += t.values.length;
  }
  const state: CheckpointState = {
    format: CHECKPOINT_FORMAT, ...meta, tensors: entries, bytes: buf.length,
    sha256: createHash('sha256').update(buf).digest('hex'),
  };
  writeAtomic(bin, buf);
  writeAtomic(json, JSON.stringify(state, encode));
}

export interface LoadedCheckpoint { state: CheckpointState; values: Map<string, Float32Array> }

/**
 * The checkpoint for `runId`, or null when there is none; `why` gets the reason a checkpoint that
 * exists cannot be used (damaged, another run's, another format), so the caller can say so.
 */
export function loadCheckpoint(base: string, runId: string, why?: (reason: string) => void): LoadedCheckpoint | null {
  const { bin, json } = checkpointPaths(base);
  if (!existsSync(json)) return null;
  try {
    const state = JSON.parse(readFileSync(json, 'utf8'), decode) as CheckpointState;
    if (state.format !== CHECKPOINT_FORMAT) throw new Error(`format ${state.format}, expected ${CHECKPOINT_FORMAT}`);
    if (state.runId !== runId) throw new Error(`it belongs to run ${state.runId}`);
    const buf = readFileSync(bin);
    if (buf.length !== state.bytes || createHash('sha256').update(buf).digest('hex') !== state.sha256) {
      throw new Error('the weights file does not match its description (a crash between the two writes?)');
    }
    const values = new Map<string, Float32Array>();
    const aligned = new Float32Array(buf.length / 4);
    Buffer.from(aligned.buffer).set(buf);
    for (const t of state.tensors) {
      if (t.offset < 0 || t.offset + t.length > aligned.length) throw new Error(`tensor ${t.name} lies outside the file`);
      values.set(t.name, aligned.subarray(t.offset, t.offset + t.length));
    }
    return { state, values };
  } catch (e) {
    why?.((e as Error).message);
    return null;
  }
}

export function removeCheckpoint(base: string): void {
  const { bin, json } = checkpointPaths(base);
  rmSync(json, { force: true }); // the description first: a .bin alone is never used
  rmSync(bin, { force: true });
}
