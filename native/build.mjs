#!/usr/bin/env node
// Builds the native addon (native/build/Release/nanolab_native.node) with node-gyp; run by
// `npm install` and `npm run build:native`. Never downloads anything: the Node headers must be
// installed beside the running node (<prefix>/include/node), or named by npm_config_nodedir.
// On failure it prints one line and exits 0, so npm install never fails because of the addon
// (the 'native' backend then reports itself unavailable); with NANOLAB_REQUIRE_NATIVE=1 (CI) it
// exits 1 instead. NANOLAB_SKIP_NATIVE=1 skips the build. Full compiler output: native/build.log.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const logFile = join(here, 'build.log');
const required = process.env.NANOLAB_REQUIRE_NATIVE === '1';

function fail(reason) {
  console.log(`nanolab: native backend not built (${reason}); the 'native' backend will be unavailable` +
    (required ? '' : ', everything else works'));
  process.exit(required ? 1 : 0);
}

if (process.env.NANOLAB_SKIP_NATIVE === '1' && !required) {
  console.log('nanolab: native backend build skipped (NANOLAB_SKIP_NATIVE=1)');
  process.exit(0);
}

// Node headers: the prefix of this node binary first (e.g. /usr for /usr/bin/node), then npm's
// nodedir. Passing --nodedir is what keeps node-gyp from downloading headers.
const hasHeaders = (dir) => dir && existsSync(join(dir, 'include', 'node', 'node_api.h'));
const prefix = dirname(dirname(process.execPath));
const nodedir = [prefix, process.env.npm_config_nodedir].find(hasHeaders);
if (!nodedir) fail(`no Node headers at ${join(prefix, 'include', 'node')} and no npm_config_nodedir; install the Node development headers`);

let gyp;
try {
  gyp = createRequire(join(here, '..', 'package.json')).resolve('node-gyp/bin/node-gyp.js');
} catch {
  fail('node-gyp is not installed (it is a devDependency)');
}

const jobs = String(Math.max(1, cpus().length));
const log = [];
function run(args) {
  const r = spawnSync(process.execPath, [gyp, ...args, `--nodedir=${nodedir}`, '--release'],
    { cwd: here, encoding: 'utf8', env: { ...process.env, npm_config_nodedir: nodedir } });
  log.push(`$ node-gyp ${args.join(' ')}`, r.stdout ?? '', r.stderr ?? '');
  writeFileSync(logFile, log.join('\n'));
  if (r.error) fail(`could not run node-gyp: ${r.error.message}`);
  if (r.status !== 0) {
    const lines = `${r.stdout}\n${r.stderr}`.split('\n');
    const first = lines.find((l) => /error/i.test(l) && !/^gyp (ERR|info)/.test(l)) ?? lines.find((l) => /ERR!/.test(l)) ?? '';
    fail(`node-gyp ${args[0]} failed: ${first.trim().slice(0, 200)}; see native/build.log`);
  }
}

// Configure again when node, the headers, binding.gyp or the list of sources changed (make
// rebuilds changed sources itself; the source list is read at configure time).
// Only node-gyp's own files are removed: native/build/ also holds other build outputs (gemm tests).
const stampFile = join(here, 'build', 'nanolab-config.json');
const sources = ['kernels', 'src'].flatMap((d) => readdirSync(join(here, d)).filter((f) => f.endsWith('.cc')).map((f) => `${d}/${f}`));
const stamp = JSON.stringify({ node: process.version, nodedir, arch: process.arch, gyp: readFileSync(join(here, 'binding.gyp'), 'utf8'), sources });
const configured = existsSync(join(here, 'build', 'Makefile')) || existsSync(join(here, 'build', 'binding.sln'));
if (!configured || !existsSync(stampFile) || readFileSync(stampFile, 'utf8') !== stamp) {
  for (const f of ['Release', 'Makefile', 'config.gypi', 'nanolab_native.target.mk', 'binding.Makefile']) {
    rmSync(join(here, 'build', f), { recursive: true, force: true });
  }
  run(['configure']);
  mkdirSync(join(here, 'build'), { recursive: true });
  writeFileSync(stampFile, stamp);
}
run(['build', '--jobs', jobs]);

// The build only counts if the addon loads here.
const addon = join(here, 'build', 'Release', 'nanolab_native.node');
const check = spawnSync(process.execPath,
  ['-e', `const b = require(${JSON.stringify(addon)}); const i = b.info(); console.log(b.version + ' ' + i.gemmKernel + ', ' + i.threads + ' threads')`],
  { encoding: 'utf8' });
if (check.status !== 0) fail(`the addon does not load: ${(check.stderr || '').split('\n').find((l) => l.trim()) ?? ''}`);
console.log(`nanolab: native backend built (${check.stdout.trim()})`);
