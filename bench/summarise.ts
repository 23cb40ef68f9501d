// Turns the step benchmarks' JSON lines into a Markdown table: per size and precision, the median
// ms/step of each engine over the rounds and the median of the per-round ratios. PyTorch's number
// in a round is its best line there (bench_step.py --best prints one; scripts/device/run.sh bench
// prints one per implementation). CPU lines (bench/compare-pytorch.sh) compare 'nanolab native'
// with PyTorch on the CPU; GPU lines (run.sh bench) 'nanolab cuda' with PyTorch on CUDA.
//   npx tsx bench/summarise.ts results.jsonl
import { readFileSync } from 'node:fs';

const rows = readFileSync(process.argv[2], 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const torch = (r: any) => String(r.engine).startsWith('torch');
const gpu = rows.some((r) => r.engine === 'nanolab cuda');
const ours = gpu ? 'nanolab cuda' : 'nanolab native';
const torchHere = (r: any) => torch(r) && (gpu ? String(r.device).startsWith('cuda') : !String(r.device ?? 'cpu').startsWith('cuda'));

// both sides at the same precision (a line without dtype is fp32); nanolab cuda's bf16 lines also
// say how its matmuls got bf16 operands (bf16_gemm), and each way gets its own rows
const dtype = (r: any) => r.dtype ?? 'fp32';
const variant = (r: any) => dtype(r) + (r.bf16_gemm && r.bf16_gemm !== 'round-in-gemm' ? `, ${r.bf16_gemm}` : '');
const variants = ['fp32', 'tf32', 'bf16', ...new Set(rows.filter((r) => !torch(r)).map(variant))];
const out = [`| size | precision | params | PyTorch best (ms/step) | PyTorch config | ${ours} (ms/step) | tokens/s nanolab | nanolab / PyTorch |${gpu ? '' : ' tfjs JS backend (ms/step) |'}`,
  `|---|---|---:|---:|---|---:|---:|---:|${gpu ? '' : '---:|'}`];
for (const p of new Set(variants)) for (const size of ['small', 'medium', 'full']) {
  const t = rows.filter((r) => r.size === size && torchHere(r) && dtype(r) === p.split(',')[0]);
  const n = rows.filter((r) => r.size === size && r.engine === ours && variant(r) === p);
  const js = rows.filter((r) => r.size === size && r.engine === 'nanolab cpu' && dtype(r) === p);
  if (!t.length || !n.length) continue;
  const best = (round: number) => Math.min(...t.filter((x) => x.round === round).map((x) => x.ms_per_step_median));
  const rounds = n.filter((r) => t.some((x) => x.round === r.round));
  const ratios = rounds.map((r) => r.ms_per_step_median / best(r.round));
  const bests = [...new Set(t.map((x) => x.round))].map(best);
  const configs = [...new Set(t.filter((x) => x.ms_per_step_median === best(x.round))
    .map((r) => gpu ? r.impl : `${r.impl}, ${r.threads} thread${r.threads > 1 ? 's' : ''}`))].join('; ');
  out.push(`| ${size} | ${p} | ${n[0].params.toLocaleString('en-US')} | ${median(bests).toFixed(2)} | ${configs} | ` +
    `${median(n.map((r) => r.ms_per_step_median)).toFixed(2)} | ${Math.round(median(n.map((r) => r.tokens_per_s))).toLocaleString('en-US')} | ` +
    `${median(ratios).toFixed(2)} (${ratios.map((x) => x.toFixed(2)).join(', ')}) |` +
    (gpu ? '' : ` ${js.length ? median(js.map((r) => r.ms_per_step_median)).toFixed(1) : ''} |`));
}
console.log(out.join('\n'));
