// Turns bench/compare-pytorch.sh's JSON lines into a Markdown table: per size, the median
// ms/step of each engine over the rounds and the median of the per-round ratios.
//   npx tsx bench/summarise.ts results.jsonl
import { readFileSync } from 'node:fs';

const rows = readFileSync(process.argv[2], 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const torch = (r: any) => String(r.engine).startsWith('torch');

// both sides at the same precision (a line without dtype is fp32)
const dtype = (r: any) => r.dtype ?? 'fp32';
const out = ['| size | precision | params | PyTorch best (ms/step) | PyTorch config | nanolab native (ms/step) | tokens/s nanolab | nanolab / PyTorch | tfjs JS backend (ms/step) |',
  '|---|---|---:|---:|---|---:|---:|---:|---:|'];
for (const p of ['fp32', 'bf16']) for (const size of ['small', 'medium', 'full']) {
  const t = rows.filter((r) => r.size === size && torch(r) && dtype(r) === p);
  const n = rows.filter((r) => r.size === size && r.engine === 'nanolab native' && dtype(r) === p);
  const js = rows.filter((r) => r.size === size && r.engine === 'nanolab cpu' && dtype(r) === p);
  if (!t.length || !n.length) continue;
  const ratios = n.map((r) => r.ms_per_step_median / t.find((x) => x.round === r.round)!.ms_per_step_median);
  const configs = [...new Set(t.map((r) => `${r.impl}, ${r.threads} thread${r.threads > 1 ? 's' : ''}`))].join('; ');
  out.push(`| ${size} | ${p} | ${n[0].params.toLocaleString('en-US')} | ${median(t.map((r) => r.ms_per_step_median)).toFixed(2)} | ${configs} | ` +
    `${median(n.map((r) => r.ms_per_step_median)).toFixed(2)} | ${Math.round(median(n.map((r) => r.tokens_per_s))).toLocaleString('en-US')} | ` +
    `${median(ratios).toFixed(2)} (${ratios.map((x) => x.toFixed(2)).join(', ')}) | ${js.length ? median(js.map((r) => r.ms_per_step_median)).toFixed(1) : ''} |`);
}
console.log(out.join('\n'));
