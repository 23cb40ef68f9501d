// Compares nanolab's ladder with the PyTorch reference (../shared/reference/ladder.py) run on the
// same corpus with the same seeds: per rung, parameters and mean +- std of the final val loss.
//   npx tsx scripts/compare-reference.ts <nanolab results dir> <ladder.py JSONL files...> > comparison.md
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';

const TOLERANCE = 0.05;
const [dir, ...refFiles] = process.argv.slice(2);
if (!dir || !refFiles.length) {
  console.error('usage: compare-reference.ts <results dir> <reference.jsonl ...>');
  process.exit(2);
}

const ours = (parse(readFileSync(`${dir}/results.csv`, 'utf8'), { columns: true }) as Record<string, string>[]).filter((r) => r.status === 'ok');
const refs = refFiles.flatMap((f) => readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)));

const stats = (xs: number[]) => {
  const n = xs.length, mean = xs.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { n, mean, sd };
};
const fmt = (s: { n: number; mean: number; sd: number }) => `${s.mean.toFixed(4)} ± ${s.sd.toFixed(4)} (n=${s.n})`;

const rungs = [...new Set(ours.map((r) => r.rung))];
const lines = ['| rung | params (nanolab) | params (PyTorch) | val loss nanolab | val loss PyTorch | difference | within 0.05 |', '|---|---:|---:|---:|---:|---:|---|'];
let allOk = true;
for (const rung of rungs) {
  const o = ours.filter((r) => r.rung === rung);
  const p = refs.filter((r) => r.rung === rung);
  if (!p.length) { lines.push(`| ${rung} | ${o[0].params} | (no reference) | | | | |`); continue; }
  const so = stats(o.map((r) => Number(r.val_loss))), sp = stats(p.map((r) => Number(r.val_loss)));
  const diff = so.mean - sp.mean, ok = Math.abs(diff) <= TOLERANCE;
  allOk &&= ok && Number(o[0].params) === p[0].params;
  lines.push(`| ${rung} | ${o[0].params} | ${p[0].params} | ${fmt(so)} | ${fmt(sp)} | ${diff >= 0 ? '+' : ''}${diff.toFixed(4)} | ${ok ? 'yes' : '**no**'} |`);
}
console.log(lines.join('\n'));
console.log(`\n${allOk ? 'Every rung has the same parameter count and a mean val loss within 0.05 of the reference.' : 'Some rungs differ: see the table.'}`);
