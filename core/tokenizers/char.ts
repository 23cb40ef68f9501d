import type { Tokenizer } from './types.ts';

/**
 * The lecture's tokenizer: one id per distinct character (Unicode code point) of the corpus,
 * sorted by code point as Python's sorted(set(text)) does, so ids match the reference.
 */
export function charTokenizer(text: string): Tokenizer {
  const chars = [...new Set(text)].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
  const stoi = new Map(chars.map((c, i) => [c, i]));
  return {
    kind: 'char',
    vocabSize: chars.length,
    encode(s) {
      const out: number[] = [];
      for (const c of s) {
        const id = stoi.get(c);
        if (id === undefined) throw new Error(`character ${JSON.stringify(c)} is not in the vocabulary`);
        out.push(id);
      }
      return Int32Array.from(out);
    },
    decode(ids) { let s = ''; for (let i = 0; i < ids.length; i++) s += chars[ids[i]]; return s; },
    piece(id) { return chars[id]; },
  };
}
