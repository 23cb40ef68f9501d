// The experiment file as parsed by `yaml`, kept with source positions so that every problem,
// even one found after sweep expansion, points at the line and column it comes from.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import YAML, { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, type Node } from 'yaml';
import { ConfigError, type Path, type Problem } from './errors.ts';

export interface Source {
  file: string;
  text: string;
  doc: YAML.Document.Parsed;
  lines: LineCounter;
}

/** Bounds that keep hostile files (alias bombs, huge or deep documents) from hanging the loader. */
const MAX_ALIAS_COUNT = 100;
const MAX_BYTES = 1 << 20;
export const MAX_DEPTH = 64;

/** Line and column (1-based) of a character offset, without a parsed document. */
function positionOf(text: string, offset: number): { line: number; col: number } {
  let line = 1, start = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) { line++; start = i + 1; }
  return { line, col: offset - start + 1 };
}

/**
 * The experiment file's text: a regular file of at most 1 MiB of UTF-8 without NUL bytes. Each
 * other case is one located problem (the first offending byte's line and column).
 */
export function readSourceText(file: string): string {
  const fail = (message: string, line = 1, col = 1): never => { throw new ConfigError([{ code: 'usage', file, line, col, path: '', message }]); };
  let fd: number;
  try { fd = openSync(file, 'r'); } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return fail(`cannot read the experiment file (${code ?? e}${code === 'EACCES' ? ': permission denied' : ''})`);
  }
  let buf: Buffer;
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) return fail('cannot read the experiment file (EISDIR: it is a directory)');
    if (!st.isFile()) return fail('the experiment file is not a regular file (a device, pipe or socket)');
    if (st.size > MAX_BYTES) return fail(`the file is ${st.size} bytes; experiment files are limited to ${MAX_BYTES}`);
    buf = Buffer.alloc(st.size);
    let n = 0;
    while (n < buf.length) { const k = readSync(fd, buf, n, buf.length - n, n); if (!k) break; n += k; }
    buf = buf.subarray(0, n);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    return fail(`cannot read the experiment file (${(e as NodeJS.ErrnoException).code ?? e})`);
  } finally {
    closeSync(fd);
  }
  const nul = buf.indexOf(0);
  const bad = invalidUtf8At(buf);
  const first = nul !== -1 && (bad === -1 || nul < bad) ? nul : bad;
  if (first !== -1) {
    const prefix = buf.subarray(0, first).toString('utf8');
    const { line, col } = positionOf(prefix, prefix.length);
    fail(first === nul ? 'this is not a text file (it contains a NUL byte): an experiment file is YAML text'
      : `the file is not valid UTF-8 (byte 0x${buf[first].toString(16).padStart(2, '0')}): save it as UTF-8`, line, col);
  }
  const text = buf.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text; // a byte-order mark is allowed
}

/** Offset of the first byte that does not belong to a well-formed UTF-8 sequence, or -1. */
export function invalidUtf8At(b: Uint8Array): number {
  for (let i = 0; i < b.length;) {
    const c = b[i];
    if (c < 0x80) { i++; continue; }
    let n: number, min: number;
    if (c >= 0xc2 && c <= 0xdf) { n = 1; min = 0x80; } else if (c >= 0xe0 && c <= 0xef) { n = 2; min = 0x800; } else if (c >= 0xf0 && c <= 0xf4) { n = 3; min = 0x10000; } else return i;
    let cp = c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const d = b[i + k];
      if (d === undefined || (d & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (d & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return -1;
}

/**
 * Where flow collections ([ and {) nest deeper than MAX_DEPTH, found without parsing (the parser
 * itself recurses per level): the offset of the first bracket too deep, or -1.
 */
function tooDeepFlow(text: string): number {
  let depth = 0, quote = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      if (ch === '\\' && quote === '"') i++;
      else if (ch === quote) { if (quote === "'" && text[i + 1] === "'") i++; else quote = ''; }
      else if (ch === '\n' && quote === "'" && depth === 0) quote = ''; // an apostrophe in a plain scalar
      continue;
    }
    if (ch === '#' && (i === 0 || /\s/.test(text[i - 1]))) { const nl = text.indexOf('\n', i); if (nl === -1) break; i = nl; continue; }
    if ((ch === '"' || ch === "'") && (i === 0 || /[\s[{,:]/.test(text[i - 1]))) { quote = ch; continue; }
    if (ch === '[' || ch === '{') { if (++depth > MAX_DEPTH) return i; } else if ((ch === ']' || ch === '}') && depth > 0) depth--;
  }
  return -1;
}

export function parseSource(file: string, text: string): { source: Source; value: unknown } {
  const at = (offset: number, message: string): Problem => {
    const { line, col } = lines.lineStarts.length ? lines.linePos(offset) : positionOf(text, offset);
    return { code: 'yaml', file, line: Math.max(1, line), col: Math.max(1, col), path: '', message };
  };
  const lines = new LineCounter();
  if (text.length > MAX_BYTES) throw new ConfigError([at(0, `file is ${text.length} characters; experiment files are limited to ${MAX_BYTES}`)]);
  const deep = tooDeepFlow(text);
  if (deep !== -1) throw new ConfigError([at(deep, `nested more than ${MAX_DEPTH} levels deep`)]);
  let doc: YAML.Document.Parsed;
  try {
    doc = YAML.parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false, strict: true });
  } catch (e) {
    throw new ConfigError([at(0, e instanceof RangeError ? `nested too deeply to parse (${e.message})` : `cannot parse: ${(e as Error).message}`)]);
  }
  if (doc.errors.length) {
    // the first error only: the ones after it are mostly its echoes
    const e = doc.errors[0];
    throw new ConfigError([at(e.pos[0], e.code === 'DUPLICATE_KEY' ? 'duplicate key: a key may appear only once in a mapping'
      : e.code === 'MULTIPLE_DOCS' ? "a second YAML document ('---'): an experiment file holds one document"
      : /call stack/i.test(e.message) ? `nested more than ${MAX_DEPTH} levels deep` : yamlMessage(e.message))]);
  }
  const shape = checkShape(doc);
  if (shape) throw new ConfigError([at(shape.offset, shape.message)]);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    const msg = (e as Error).message;
    throw new ConfigError([at(0, /excessive alias/i.test(msg) ? `too many alias expansions (limit ${MAX_ALIAS_COUNT}): ${msg}` : msg)]);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError([at(0, 'an experiment file must be a mapping (name:, model:, train:, ...)')]);
  }
  return { source: { file, text, doc, lines }, value };
}

/**
 * Walks the parsed document (without recursion) for what YAML allows and an experiment cannot
 * use: nesting deeper than MAX_DEPTH, and numbers too large for a double (1e400 reads as Infinity).
 */
function checkShape(doc: YAML.Document.Parsed): { offset: number; message: string } | null {
  const stack: [Node | null, number][] = [[doc.contents as Node | null, 1]];
  while (stack.length) {
    const [node, depth] = stack.pop()!;
    if (!node) continue;
    if (depth > MAX_DEPTH && (isMap(node) || isSeq(node))) return { offset: node.range?.[0] ?? 0, message: `nested more than ${MAX_DEPTH} levels deep` };
    if (isAlias(node)) {
      if (!node.resolve(doc)) return { offset: node.range?.[0] ?? 0, message: `unknown alias *${node.source}: define the anchor &${node.source} before using it` };
      continue;
    }
    if (isMap(node)) {
      const bad = node.items.find((p) => p.key !== null && !isScalar(p.key) && !isAlias(p.key));
      if (bad) return { offset: (bad.key as Node).range?.[0] ?? node.range?.[0] ?? 0, message: 'a key must be a plain name, not a list or mapping' };
    }
    if (isScalar(node)) {
      const v = node.value;
      if (typeof v === 'number' && !Number.isFinite(v) && node.source !== undefined && !/^[-+]?\.(inf|nan)$/i.test(String(node.source))) {
        return { offset: node.range?.[0] ?? 0, message: `the number ${String(node.source).slice(0, 40)} is out of range (larger than a double can hold)` };
      }
    } else if (isMap(node)) {
      for (const p of node.items) { stack.push([p.value as Node | null, depth + 1]); stack.push([p.key as Node | null, depth + 1]); }
    } else if (isSeq(node)) {
      for (const it of node.items) stack.push([it as Node | null, depth + 1]);
    }
  }
  return null;
}

function yamlMessage(m: string): string {
  // yaml's messages end with a code excerpt after a blank line; the location is ours to print
  return m.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
}

/** Line and column of the node at `path` (its key when `key`), or of the nearest ancestor found. */
export function locate(src: Source, path: Path, key = false): { line: number; col: number } {
  let node: Node | null = src.doc.contents as Node | null;
  let offset = node?.range?.[0] ?? 0;
  for (let i = 0; i < path.length && node; i++) {
    if (isAlias(node)) node = node.resolve(src.doc) as Node | null;
    const seg = path[i];
    let next: Node | null = null;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (pair) {
        const last = i === path.length - 1;
        const k = pair.key as Node;
        if (last && key && k.range) return src.lines.linePos(k.range[0]);
        next = (pair.value as Node | null) ?? null;
        if (!next || !next.range) { offset = k.range?.[0] ?? offset; node = null; break; }
      }
    } else if (isSeq(node) && typeof seg === 'number') {
      next = (node.items[seg] as Node | undefined) ?? null;
    }
    if (!next) break;
    node = next;
    offset = node.range?.[0] ?? offset;
  }
  return src.lines.linePos(offset);
}
