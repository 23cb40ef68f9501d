// Everything a sweep writes in its output directory, as each run finishes: results.csv (rows
// appended and flushed), results.md and samples.md (rewritten whole, atomically), curves/ and
// meta.json. A crash or Ctrl-C between runs never loses or corrupts a finished row.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import type { CurvePoint } from '../train/train.ts';
import type { Row } from './columns.ts';
import { appendDurable, writeAtomic } from './files.ts';

export class ResultsWriter {
  readonly csvPath: string;
  rows: Row[] = [];
  private samples: { run: string; runId: string; text: string }[] = [];

  constructor(readonly dir: string, readonly columns: string[], readonly title: string) {
    this.csvPath = join(dir, 'results.csv');
  }

  /** Rows already in results.csv (from an earlier, perhaps interrupted, sweep). */
  static readExisting(dir: string): Row[] {
    const p = join(dir, 'results.csv');
    if (!existsSync(p)) return [];
    return parse(readFileSync(p, 'utf8'), { columns: true, skip_empty_lines: true, relax_column_count: true }) as Row[];
  }

  open(keep: Row[]): void {
    mkdirSync(join(this.dir, 'curves'), { recursive: true });
    this.rows = keep;
    // rewrite the file with the kept rows and the current header, so columns always match
    writeAtomic(this.csvPath, stringify(keep, { header: true, columns: this.columns }));
    const samplesPath = join(this.dir, 'samples.json');
    if (existsSync(samplesPath)) {
      const keepIds = new Set(keep.map((r) => String(r.run_id)));
      this.samples = (JSON.parse(readFileSync(samplesPath, 'utf8')) as typeof this.samples).filter((s) => keepIds.has(s.runId));
    }
    this.writeSummaries();
  }

  addRun(row: Row, curve: CurvePoint[], sample: string): void {
    writeAtomic(join(this.dir, 'curves', `${row.run_id}.csv`),
      stringify(curve.map((c) => ({ ...c, train_loss: fmt(c.train_loss, 6), val_loss: fmt(c.val_loss, 6) })),
        { header: true, columns: ['step', 'train_loss', 'val_loss', 'lr'] }));
    appendDurable(this.csvPath, stringify([row], { columns: this.columns }));
    this.rows.push(row);
    if (sample) this.samples.push({ run: String(row.run), runId: String(row.run_id), text: sample });
    this.writeSummaries();
  }

  private writeSummaries(): void {
    writeAtomic(join(this.dir, 'results.md'), markdownTable(this.title, this.columns, this.rows));
    writeAtomic(join(this.dir, 'samples.json'), JSON.stringify(this.samples, null, 1));
    writeAtomic(join(this.dir, 'samples.md'), [`# Samples: ${this.title}`, '',
      ...this.samples.flatMap((s) => [`## ${s.run} (${s.runId})`, '', '```text', s.text.replace(/```/g, "'''"), '```', ''])].join('\n'));
  }
}

export function fmt(x: number, digits: number): string {
  return Number.isFinite(x) ? x.toFixed(digits) : '';
}

const escapeCell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function markdownTable(title: string, columns: string[], rows: Row[]): string {
  const numeric = new Set(['params', 'steps', 'seed', 'train_loss', 'val_loss', 'best_val_loss', 'ms_per_step_median',
    'ms_per_step_p95', 'tokens_per_s', 'train_s', 'eval_s', 'wall_s']);
  const head = `| ${columns.join(' | ')} |`;
  const sep = `| ${columns.map((c) => (numeric.has(c) ? '---:' : '---')).join(' | ')} |`;
  const body = rows.map((r) => `| ${columns.map((c) => escapeCell(String(r[c] ?? ''))).join(' | ')} |`);
  return [`# Results: ${title}`, '', head, sep, ...body, ''].join('\n');
}
