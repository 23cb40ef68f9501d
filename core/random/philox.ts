// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11).
// Counter-based: the value at (key, counter) needs no state, so the native backend (C++, CUDA)
// and this JS fallback produce the very same dropout masks and initial weights, bit for bit.
// native/kernels/philox.h implements the same function; test/philox.test.ts pins known values.

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** High 32 bits of the 64-bit product of two uint32 values (JS numbers lose bits past 2^53). */
function mulhi32(a: number, b: number): number {
  const aLo = a & 0xffff, aHi = a >>> 16, bLo = b & 0xffff, bHi = b >>> 16;
  const lh = aLo * bHi, hl = aHi * bLo;
  const mid = ((aLo * bLo) >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return (aHi * bHi + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) >>> 0;
}

/** One Philox4x32-10 block: 4 counter words + 2 key words -> 4 random uint32 words (written to out). */
export function philox4x32(c0: number, c1: number, c2: number, c3: number, k0: number, k1: number,
  out: Uint32Array): void {
  for (let r = 0; r < 10; r++) {
    const hi0 = mulhi32(M0, c0), lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulhi32(M1, c2), lo1 = Math.imul(M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0; c1 = lo1; c2 = (hi0 ^ c3 ^ k1) >>> 0; c3 = lo0;
    k0 = (k0 + W0) >>> 0; k1 = (k1 + W1) >>> 0;
  }
  out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

const TWO_POW_32 = 4294967296;
/** Uniform in [0, 1) from the top 24 bits of a word: exactly representable in float32. */
export const wordToUniform = (w: number): number => (w >>> 8) * (1 / 16777216);

/**
 * Dropout keep-mask for one call: element i is kept when uniform(word i) >= rate.
 * Counter = (i / 4 low, i / 4 high, callId low, callId high), key = (seed low, seed high),
 * word = i % 4. Kept elements hold 1 / (1 - rate), dropped ones 0.
 */
export function dropoutMask(n: number, rate: number, seed: number, callId: number): Float32Array {
  const mask = new Float32Array(n);
  const scale = 1 / (1 - rate);
  const w = new Uint32Array(4);
  const k0 = seed >>> 0, k1 = Math.floor(seed / TWO_POW_32) >>> 0;
  const c2 = callId >>> 0, c3 = Math.floor(callId / TWO_POW_32) >>> 0;
  for (let b = 0; b * 4 < n; b++) {
    philox4x32(b >>> 0, Math.floor(b / TWO_POW_32) >>> 0, c2, c3, k0, k1, w);
    for (let j = 0; j < 4 && b * 4 + j < n; j++) mask[b * 4 + j] = wordToUniform(w[j]) >= rate ? scale : 0;
  }
  return mask;
}

export interface PhiloxState { block: number; pos: number; spareNormal: number | null }

/**
 * A sequential stream of random numbers for one purpose of one run (weight init, batches,
 * sampling). Streams with different ids never overlap: the stream id is part of the counter.
 */
export class PhiloxStream {
  private block = 0;
  private buf = new Uint32Array(4);
  private pos = 4;
  private spareNormal: number | null = null;
  private readonly k0: number;
  private readonly k1: number;
  constructor(seed: number, private readonly streamId: number) {
    this.k0 = seed >>> 0; this.k1 = Math.floor(seed / TWO_POW_32) >>> 0;
  }
  nextU32(): number {
    if (this.pos === 4) {
      philox4x32(this.block >>> 0, Math.floor(this.block / TWO_POW_32) >>> 0, this.streamId >>> 0, 0x6e616e6f,
        this.k0, this.k1, this.buf);
      this.block++; this.pos = 0;
    }
    return this.buf[this.pos++];
  }
  /** The stream's position, for checkpoints: restoring it continues with the very same numbers. */
  getState(): PhiloxState {
    return { block: this.block, pos: this.pos, spareNormal: this.spareNormal };
  }
  setState(s: PhiloxState): void {
    if (!Number.isSafeInteger(s.block) || s.block < 0 || !Number.isInteger(s.pos) || s.pos < 0 || s.pos > 4 || (s.block === 0 && s.pos !== 4)) {
      throw new Error(`invalid random stream state ${JSON.stringify(s)}`);
    }
    this.block = s.block; this.pos = s.pos; this.spareNormal = s.spareNormal;
    if (s.pos < 4) { // the current buffer holds block - 1's words
      const b = s.block - 1;
      philox4x32(b >>> 0, Math.floor(b / TWO_POW_32) >>> 0, this.streamId >>> 0, 0x6e616e6f, this.k0, this.k1, this.buf);
    }
  }
  /** Uniform in [0, 1) with 24 bits. */
  uniform(): number { return wordToUniform(this.nextU32()); }
  /** Uniform integer in [0, n) (n < 2^32), rejection-free for the sizes used here (bias < 2^-20). */
  int(n: number): number {
    const hi = this.nextU32(), lo = this.nextU32();
    return Math.floor(((hi * TWO_POW_32 + lo) / 18446744073709551616) * n);
  }
  /** Standard normal by Box-Muller (pairs, the second value kept for the next call). */
  normal(): number {
    if (this.spareNormal !== null) { const s = this.spareNormal; this.spareNormal = null; return s; }
    let u1 = 0;
    while (u1 === 0) u1 = (this.nextU32() + 1) / (TWO_POW_32 + 1);
    const u2 = this.nextU32() / TWO_POW_32;
    const r = Math.sqrt(-2 * Math.log(u1));
    this.spareNormal = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  }
}

/** Stream ids: one per purpose, so adding a draw in one place never shifts another's numbers. */
export const Streams = { init: 1, trainBatches: 2, evalBatches: 3, sample: 4 } as const;
