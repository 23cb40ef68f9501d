/**
 * Byte-level byte-pair-encoding tokenizer (GPT-2 / minbpe style).
 *
 * Vocabulary layout:
 *   0..255                 the 256 raw byte values
 *   256..256+M-1           the M learned merges, in training order (rank = id - 256)
 *   256+M                  `<|endoftext|>` (only when enabled)
 *
 * Text is first split into chunks with a GPT-2-like regex (contractions,
 * letter runs, number runs, punctuation runs, whitespace runs; each optionally
 * preceded by one space), and merges never cross chunk boundaries. Training
 * counts pairs over the *distinct* chunks weighted by their frequency, and
 * keeps pair counts up to date incrementally after each merge. Ties are
 * broken by the highest count, then the smallest pair (a, b) in lexicographic
 * order, so training is fully deterministic.
 *
 * Encoding applies merges by rank within each chunk (identical to applying
 * them one by one in training order), with a cache for repeated chunks.
 */
import type { Tokenizer } from './types.ts';

export type { Tokenizer } from './types.ts';

export interface BpeOptions {
  /** number of merges to learn (an upper bound: training stops early when no pair occurs twice) */
  merges: number;
  /** default true: add one `<|endoftext|>` special token (last id) */
  endOfText?: boolean;
}

export interface BpeTokenizer extends Tokenizer {
  readonly kind: 'bpe';
  /** id of `<|endoftext|>`, or null when disabled */
  readonly eotId: number | null;
  /** merges in rank order: mergesList[r] = [a, b] produced token 256 + r */
  readonly mergesList: ReadonlyArray<[number, number]>;
}

/** JSON-friendly form of a trained BPE tokenizer. */
export interface SerializedBpe {
  merges: Array<[number, number]>;
  eot: boolean;
}

export const EOT_TEXT = '<|endoftext|>';

/** Pair keys are a * PAIR_BASE + b; ids must stay below PAIR_BASE. */
const PAIR_BASE = 2 ** 21;
/** Upper bound on the number of merges (so every id < PAIR_BASE). */
export const MAX_MERGES = PAIR_BASE - 257;

/** Chunks with at most this many bytes use the simple quadratic merge loop. */
const SMALL_CHUNK = 48;
/** Encode cache is cleared when it grows past this many distinct chunks. */
const CACHE_LIMIT = 200_000;

/**
 * GPT-2-like pre-tokenization pattern. Contractions accept both ' and ’.
 * Combining marks (\p{M}) stay with the letters they modify. Every code point
 * is matched by some alternative, so the chunks tile the input exactly
 * (splitChunks still handles gaps defensively).
 */
const SPLIT_SOURCE =
  "['\u2019](?:[sdmt]|ll|ve|re)| ?[\\p{L}\\p{M}]+| ?\\p{N}+| ?[^\\s\\p{L}\\p{M}\\p{N}]+|\\s+(?!\\S)|\\s+";

const utf8Encoder = new TextEncoder();
const lenientDecoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Split text into pre-tokenization chunks. The concatenation of the result is
 * always exactly `text`.
 */
export function splitChunks(text: string): string[] {
  const out: string[] = [];
  forEachChunk(text, (c) => {
    out.push(c);
  });
  return out;
}

function forEachChunk(text: string, fn: (chunk: string) => void): void {
  const re = new RegExp(SPLIT_SOURCE, 'gu');
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const s = m[0];
    if (m.index > last) fn(text.slice(last, m.index)); // never happens with this pattern
    if (s.length === 0) {
      // defensive: an empty match would loop forever
      re.lastIndex++;
      continue;
    }
    fn(s);
    last = m.index + s.length;
  }
  if (last < text.length) fn(text.slice(last));
}

function pairKey(a: number, b: number): number {
  return a * PAIR_BASE + b;
}

// ---------------------------------------------------------------------------
// Training
// ---------------------------------------------------------------------------

/**
 * Max-heap of (count, pairKey) with "higher count first, then smaller key".
 * Entries are lazily invalidated: an entry is valid iff its count equals the
 * current count of that pair.
 */
class PairHeap {
  private c: number[] = [];
  private k: number[] = [];

  get size(): number {
    return this.c.length;
  }

  private better(i: number, j: number): boolean {
    const ci = this.c[i]!;
    const cj = this.c[j]!;
    return ci > cj || (ci === cj && this.k[i]! < this.k[j]!);
  }

  private swap(i: number, j: number): void {
    const tc = this.c[i]!;
    this.c[i] = this.c[j]!;
    this.c[j] = tc;
    const tk = this.k[i]!;
    this.k[i] = this.k[j]!;
    this.k[j] = tk;
  }

  push(count: number, key: number): void {
    this.c.push(count);
    this.k.push(key);
    let i = this.c.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.better(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  topCount(): number {
    return this.c[0]!;
  }

  topKey(): number {
    return this.k[0]!;
  }

  pop(): void {
    const n = this.c.length - 1;
    if (n < 0) return;
    this.c[0] = this.c[n]!;
    this.k[0] = this.k[n]!;
    this.c.pop();
    this.k.pop();
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < n && this.better(l, best)) best = l;
      if (r < n && this.better(r, best)) best = r;
      if (best === i) break;
      this.swap(i, best);
      i = best;
    }
  }
}

/** Learn merges from text. Returns the merges in rank order. */
function learnMerges(text: string, numMerges: number): Array<[number, number]> {
  // 1. distinct chunks with their frequencies
  const chunkFreq = new Map<string, number>();
  forEachChunk(text, (c) => {
    chunkFreq.set(c, (chunkFreq.get(c) ?? 0) + 1);
  });

  const words: Int32Array[] = [];
  const lens: number[] = [];
  const freqs: number[] = [];
  for (const [chunk, f] of chunkFreq) {
    const bytes = utf8Encoder.encode(chunk);
    if (bytes.length < 2) continue; // a single byte can never take part in a pair
    words.push(Int32Array.from(bytes));
    lens.push(bytes.length);
    freqs.push(f);
  }
  chunkFreq.clear();

  // 2. initial pair counts and pair -> words index
  const counts = new Map<number, number>();
  const where = new Map<number, number[]>();
  for (let wi = 0; wi < words.length; wi++) {
    const w = words[wi]!;
    const f = freqs[wi]!;
    const n = lens[wi]!;
    for (let i = 0; i + 1 < n; i++) {
      const k = pairKey(w[i]!, w[i + 1]!);
      counts.set(k, (counts.get(k) ?? 0) + f);
      let list = where.get(k);
      if (list === undefined) {
        list = [];
        where.set(k, list);
      }
      if (list[list.length - 1] !== wi) list.push(wi);
    }
  }
  const heap = new PairHeap();
  for (const [k, c] of counts) heap.push(c, k);

  const visited = new Int32Array(words.length).fill(-1);
  const merges: Array<[number, number]> = [];
  const changed = new Set<number>();

  for (let m = 0; m < numMerges; m++) {
    // 3. pick the best valid pair
    let bestKey = -1;
    let bestCount = 0;
    while (heap.size > 0) {
      const c = heap.topCount();
      const k = heap.topKey();
      heap.pop();
      if (counts.get(k) === c) {
        bestKey = k;
        bestCount = c;
        break;
      }
    }
    if (bestKey < 0 || bestCount < 2) break;

    const a = Math.floor(bestKey / PAIR_BASE);
    const b = bestKey - a * PAIR_BASE;
    const z = 256 + m;
    merges.push([a, b]);

    // 4. merge in every word that may contain (a, b), updating counts locally
    changed.clear();
    const list = where.get(bestKey) ?? [];
    for (let li = 0; li < list.length; li++) {
      const wi = list[li]!;
      if (visited[wi] === m) continue;
      visited[wi] = m;
      const w = words[wi]!;
      const f = freqs[wi]!;
      const n = lens[wi]!;
      let o = 0; // write pointer (in-place: o <= i)
      let i = 0;
      let hit = false;
      while (i < n) {
        if (i + 1 < n && w[i] === a && w[i + 1] === b) {
          hit = true;
          if (o > 0) {
            const p = w[o - 1]!; // already-updated left neighbour
            addCount(pairKey(p, a), -f, wi);
            addCount(pairKey(p, z), f, wi);
          }
          if (i + 2 < n) {
            const nx = w[i + 2]!; // not yet rewritten
            addCount(pairKey(b, nx), -f, wi);
            addCount(pairKey(z, nx), f, wi);
          }
          w[o++] = z;
          i += 2;
        } else {
          w[o++] = w[i]!;
          i++;
        }
      }
      if (hit) lens[wi] = o;
    }

    // 5. the merged pair is gone everywhere; refresh heap entries of changed pairs
    counts.delete(bestKey);
    where.delete(bestKey);
    for (const k of changed) {
      if (k === bestKey) continue;
      const c = counts.get(k) ?? 0;
      if (c > 0) {
        heap.push(c, k);
      } else {
        counts.delete(k);
        where.delete(k);
      }
    }
  }
  return merges;

  function addCount(k: number, d: number, wi: number): void {
    counts.set(k, (counts.get(k) ?? 0) + d);
    changed.add(k);
    if (d > 0) {
      let list = where.get(k);
      if (list === undefined) {
        list = [];
        where.set(k, list);
      }
      if (list[list.length - 1] !== wi) list.push(wi);
    }
  }
}

// ---------------------------------------------------------------------------
// Encoding helpers (exported for tests; not part of the public API)
// ---------------------------------------------------------------------------

/** pairKey -> rank map for mergeChunkSimple / mergeChunkHeap. */
export function buildRanks(merges: ReadonlyArray<readonly [number, number]>): Map<number, number> {
  const ranks = new Map<number, number>();
  merges.forEach(([a, b], r) => ranks.set(pairKey(a, b), r));
  return ranks;
}

/** Simple O(n^2) merge-by-rank loop; best for short chunks. Mutates `ids`. */
export function mergeChunkSimple(ids: number[], ranks: ReadonlyMap<number, number>): number[] {
  let n = ids.length;
  while (n >= 2) {
    let bestRank = Infinity;
    let a = -1;
    let b = -1;
    for (let i = 0; i + 1 < n; i++) {
      const r = ranks.get(pairKey(ids[i]!, ids[i + 1]!));
      if (r !== undefined && r < bestRank) {
        bestRank = r;
        a = ids[i]!;
        b = ids[i + 1]!;
      }
    }
    if (bestRank === Infinity) break;
    const z = 256 + bestRank;
    let o = 0;
    for (let i = 0; i < n; ) {
      if (i + 1 < n && ids[i] === a && ids[i + 1] === b) {
        ids[o++] = z;
        i += 2;
      } else {
        ids[o++] = ids[i++]!;
      }
    }
    n = o;
  }
  ids.length = n;
  return ids;
}

/**
 * O(n log n) merge-by-rank using a linked list and a lazy min-heap of
 * (rank, position); equivalent to mergeChunkSimple. Used for long chunks.
 */
export function mergeChunkHeap(bytes: ArrayLike<number>, ranks: ReadonlyMap<number, number>): number[] {
  const n = bytes.length;
  const tok = Int32Array.from(bytes);
  const next = new Int32Array(n);
  const prev = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    next[i] = i + 1 < n ? i + 1 : -1;
    prev[i] = i - 1;
  }
  // heap entries encoded as rank * 2^32 + position (both < 2^21 / 2^32)
  const heap: number[] = [];
  const POS = 2 ** 32;
  const push = (v: number): void => {
    heap.push(v);
    let i = heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (heap[p]! <= v) break;
      heap[i] = heap[p]!;
      i = p;
    }
    heap[i] = v;
  };
  const pop = (): number => {
    const top = heap[0]!;
    const last = heap.pop()!;
    const len = heap.length;
    if (len > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= len) break;
        const r = l + 1;
        const c = r < len && heap[r]! < heap[l]! ? r : l;
        if (heap[c]! >= last) break;
        heap[i] = heap[c]!;
        i = c;
      }
      heap[i] = last;
    }
    return top;
  };
  for (let i = 0; i + 1 < n; i++) {
    const r = ranks.get(pairKey(tok[i]!, tok[i + 1]!));
    if (r !== undefined) push(r * POS + i);
  }
  while (heap.length > 0) {
    const v = pop();
    const r = Math.floor(v / POS);
    const pos = v - r * POS;
    if (tok[pos] === -1) continue;
    const nx = next[pos]!;
    if (nx === -1) continue;
    if (ranks.get(pairKey(tok[pos]!, tok[nx]!)) !== r) continue;
    // merge pos and nx
    tok[pos] = 256 + r;
    tok[nx] = -1;
    const nn = next[nx]!;
    next[pos] = nn;
    if (nn !== -1) prev[nn] = pos;
    const pv = prev[pos]!;
    if (pv !== -1) {
      const r2 = ranks.get(pairKey(tok[pv]!, tok[pos]!));
      if (r2 !== undefined) push(r2 * POS + pv);
    }
    if (nn !== -1) {
      const r3 = ranks.get(pairKey(tok[pos]!, tok[nn]!));
      if (r3 !== undefined) push(r3 * POS + pos);
    }
  }
  const out: number[] = [];
  for (let i = n > 0 ? 0 : -1; i !== -1; i = next[i]!) out.push(tok[i]!);
  return out;
}

// ---------------------------------------------------------------------------
// Tokenizer
// ---------------------------------------------------------------------------

class BpeTokenizerImpl implements BpeTokenizer {
  readonly kind = 'bpe' as const;
  readonly vocabSize: number;
  readonly eotId: number | null;
  readonly mergesList: ReadonlyArray<[number, number]>;

  private readonly ranks = new Map<number, number>();
  private readonly vocab: Uint8Array[] = [];
  private cache = new Map<string, Int32Array>();

  constructor(merges: ReadonlyArray<readonly [number, number]>, eot: boolean) {
    if (merges.length > MAX_MERGES) throw new RangeError(`bpe: too many merges (${merges.length} > ${MAX_MERGES})`);
    for (let b = 0; b < 256; b++) this.vocab.push(Uint8Array.of(b));
    const list: Array<[number, number]> = [];
    for (let r = 0; r < merges.length; r++) {
      const pair = merges[r]!;
      const a = pair[0];
      const b = pair[1];
      const limit = 256 + r;
      if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b < 0 || a >= limit || b >= limit) {
        throw new RangeError(`bpe: merge ${r} = [${a}, ${b}] refers to an id that does not exist yet`);
      }
      const k = pairKey(a, b);
      if (this.ranks.has(k)) throw new RangeError(`bpe: duplicate merge [${a}, ${b}] at rank ${r}`);
      this.ranks.set(k, r);
      const va = this.vocab[a]!;
      const vb = this.vocab[b]!;
      const v = new Uint8Array(va.length + vb.length);
      v.set(va, 0);
      v.set(vb, va.length);
      this.vocab.push(v);
      list.push(Object.freeze([a, b]) as [number, number]);
    }
    this.mergesList = Object.freeze(list);
    if (eot) {
      this.eotId = this.vocab.length;
      this.vocab.push(utf8Encoder.encode(EOT_TEXT));
    } else {
      this.eotId = null;
    }
    this.vocabSize = this.vocab.length;
  }

  /** Token ids for one pre-tokenization chunk (cached). */
  private encodeChunk(chunk: string): Int32Array {
    const hit = this.cache.get(chunk);
    if (hit !== undefined) return hit;
    const bytes = utf8Encoder.encode(chunk);
    let ids: number[];
    if (bytes.length <= SMALL_CHUNK) ids = mergeChunkSimple(Array.from(bytes), this.ranks);
    else ids = mergeChunkHeap(bytes, this.ranks);
    const res = Int32Array.from(ids);
    if (this.cache.size >= CACHE_LIMIT) this.cache = new Map();
    this.cache.set(chunk, res);
    return res;
  }

  encode(text: string): Int32Array {
    let out = new Int32Array(Math.max(16, text.length));
    let n = 0;
    forEachChunk(text, (chunk) => {
      const ids = this.encodeChunk(chunk);
      if (n + ids.length > out.length) {
        const grown = new Int32Array(Math.max(out.length * 2, n + ids.length));
        grown.set(out.subarray(0, n));
        out = grown;
      }
      if (ids.length === 1) out[n++] = ids[0]!;
      else {
        out.set(ids, n);
        n += ids.length;
      }
    });
    return out.slice(0, n);
  }

  private bytesOf(id: number): Uint8Array {
    const v = Number.isInteger(id) ? this.vocab[id] : undefined;
    if (v === undefined) throw new RangeError(`bpe: token id ${id} out of range [0, ${this.vocabSize})`);
    return v;
  }

  decode(ids: ArrayLike<number>): string {
    const n = ids.length;
    let total = 0;
    for (let i = 0; i < n; i++) total += this.bytesOf(ids[i]!).length;
    const buf = new Uint8Array(total);
    let o = 0;
    for (let i = 0; i < n; i++) {
      const v = this.vocab[ids[i]!]!;
      if (v.length === 1) buf[o++] = v[0]!;
      else {
        buf.set(v, o);
        o += v.length;
      }
    }
    // fatal:false -> partial multi-byte sequences become U+FFFD instead of throwing;
    // ignoreBOM:true -> a leading U+FEFF is kept (exact round trip)
    return lenientDecoder.decode(buf);
  }

  piece(id: number): string {
    const bytes = this.bytesOf(id);
    if (id === this.eotId) return EOT_TEXT;
    try {
      return strictDecoder.decode(bytes);
    } catch {
      // not valid UTF-8 on its own (part of a multi-byte character): show the bytes
      let s = '';
      for (const b of bytes) {
        s += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).toUpperCase().padStart(2, '0')}`;
      }
      return s;
    }
  }
}

/** Train a byte-level BPE tokenizer on `text`. */
export function trainBpe(text: string, opts: BpeOptions): BpeTokenizer {
  const m = opts.merges;
  if (!Number.isInteger(m) || m < 0 || m > MAX_MERGES) {
    throw new RangeError(`bpe: merges must be an integer in [0, ${MAX_MERGES}], got ${m}`);
  }
  const merges = learnMerges(text, m);
  return new BpeTokenizerImpl(merges, opts.endOfText ?? true);
}

/** JSON-friendly form: { merges: [[a, b], ...], eot: boolean }. */
export function serializeBpe(tok: Pick<BpeTokenizer, 'mergesList' | 'eotId'>): SerializedBpe {
  return {
    merges: tok.mergesList.map(([a, b]) => [a, b] as [number, number]),
    eot: tok.eotId !== null,
  };
}

/** Rebuild a tokenizer from serializeBpe's output (object or JSON string). */
export function deserializeBpe(json: SerializedBpe | string): BpeTokenizer {
  const obj: unknown = typeof json === 'string' ? JSON.parse(json) : json;
  if (typeof obj !== 'object' || obj === null) throw new TypeError('bpe: serialized tokenizer must be an object');
  const { merges, eot } = obj as { merges?: unknown; eot?: unknown };
  if (!Array.isArray(merges)) throw new TypeError('bpe: serialized tokenizer needs a "merges" array');
  if (typeof eot !== 'boolean') throw new TypeError('bpe: serialized tokenizer needs a boolean "eot"');
  const pairs: Array<[number, number]> = merges.map((p: unknown, i: number) => {
    if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== 'number' || typeof p[1] !== 'number') {
      throw new TypeError(`bpe: merge ${i} must be a pair of numbers`);
    }
    return [p[0], p[1]];
  });
  return new BpeTokenizerImpl(pairs, eot);
}
