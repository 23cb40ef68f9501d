// Every problem with an experiment is reported as one line `file:line:col: path: problem`.
// Codes form a closed union so tests and callers can match on them.

export type ErrorCode =
  | 'usage'            // bad command-line arguments
  | 'yaml'             // the file is not well-formed YAML (syntax, duplicate keys, aliases)
  | 'schema'           // a value has the wrong type or range
  | 'unknown_key'      // a key no section has
  | 'unknown_layer'    // a layer name the registry does not know
  | 'unknown_variable' // a $name with no model.vars entry
  | 'model'            // the layers do not compose (shapes, order)
  | 'data'             // the corpus cannot be read or is too short
  | 'device'           // the requested device or precision is unavailable
  | 'output';          // the output directory cannot be written

export interface Problem {
  code: ErrorCode;
  file: string;
  line: number;
  col: number;
  /** config path such as model.layers[3].block.attention.n_head ('' for the whole file) */
  path: string;
  message: string;
}

export function formatProblem(p: Problem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.path ? `${p.path}: ` : ''}${p.message}`;
}

/** Thrown when an experiment cannot run; the CLI prints each problem and exits 2. */
export class ConfigError extends Error {
  constructor(readonly problems: Problem[]) {
    super(problems.map(formatProblem).join('\n'));
  }
}

export type Path = (string | number)[];

/** model.layers[3].block.n_head */
export function formatPath(path: Path): string {
  let s = '';
  for (const seg of path) s += typeof seg === 'number' ? `[${seg}]` : s ? `.${seg}` : seg;
  return s;
}

/** Closest candidate by edit distance, for "did you mean ...?" (null when nothing is close). */
export function didYouMean(word: string, candidates: Iterable<string>): string | null {
  let best: string | null = null, bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) { bestD = d; best = c; }
  }
  return best !== null && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : null;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]; prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}

/** A problem before it is located: `at` is the path in the YAML document (the key when `key`). */
export interface Issue { code: ErrorCode; path: Path; at: Path; key?: boolean; message: string }
