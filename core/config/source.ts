// The experiment file as parsed by `yaml`, kept with source positions so that every problem,
// even one found after sweep expansion, points at the line and column it comes from.
import YAML, { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, type Node } from 'yaml';
import { ConfigError, type Path, type Problem } from './errors.ts';

export interface Source {
  file: string;
  text: string;
  doc: YAML.Document.Parsed;
  lines: LineCounter;
}

/** Bounds that keep hostile files (alias bombs, huge documents) from hanging the loader. */
const MAX_ALIAS_COUNT = 100;
const MAX_BYTES = 1 << 20;

export function parseSource(file: string, text: string): { source: Source; value: unknown } {
  const at = (offset: number, message: string): Problem => {
    const { line, col } = lines.linePos(offset);
    return { code: 'yaml', file, line, col, path: '', message };
  };
  const lines = new LineCounter();
  if (text.length > MAX_BYTES) throw new ConfigError([at(0, `file is ${text.length} bytes; experiment files are limited to ${MAX_BYTES}`)]);
  let doc: YAML.Document.Parsed;
  try {
    doc = YAML.parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false, strict: true });
  } catch (e) {
    throw new ConfigError([at(0, `cannot parse: ${(e as Error).message}`)]);
  }
  if (doc.errors.length) {
    throw new ConfigError(doc.errors.map((e) => at(e.pos[0], e.code === 'DUPLICATE_KEY' ? 'duplicate key: a key may appear only once in a mapping' : yamlMessage(e.message))));
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    const msg = (e as Error).message;
    throw new ConfigError([at(0, /alias/i.test(msg) ? `too many alias expansions (limit ${MAX_ALIAS_COUNT}): ${msg}` : msg)]);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError([at(0, 'an experiment file must be a mapping (name:, model:, train:, ...)')]);
  }
  return { source: { file, text, doc, lines }, value };
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
