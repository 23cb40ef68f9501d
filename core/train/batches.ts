import type { PhiloxStream } from '../random/philox.ts';

/** B random windows of T tokens (x) and the same shifted by one (y), as the lecture's get_batch. */
export function sampleBatch(data: Int32Array, B: number, T: number, rng: PhiloxStream): { x: Int32Array; y: Int32Array } {
  const x = new Int32Array(B * T), y = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    const i = rng.int(data.length - T); // [0, len - T), as torch.randint(len(data) - block_size)
    x.set(data.subarray(i, i + T), b * T);
    y.set(data.subarray(i + 1, i + T + 1), b * T);
  }
  return { x, y };
}
