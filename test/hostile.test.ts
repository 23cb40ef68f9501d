// Hostile input: each case must give exactly ONE located line `file:line:col: path: problem`,
// exit 2, and write nothing (no output directory). Cases: every fixture in
// test/fixtures/hostile (same `# expect:` convention as test/fixtures/invalid), plus cases
// generated here because they are binary, huge, or need the filesystem (permissions, FIFOs,
// devices, a full or read-only disk).
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, tempDir } from './helpers.ts';

const isRoot = process.getuid?.() === 0;
const hostileDir = 'test/fixtures/hostile';
const fixtures = readdirSync(hostileDir).filter((f) => f.endsWith('.yaml')).sort();
const invalidCount = readdirSync('test/fixtures/invalid').filter((f) => f.endsWith('.yaml')).length;

const toRegex = (s: string) => new RegExp(`^${s.split('.*').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
const NOTICE = 'nanolab: native CPU backend unavailable';

/** Runs the CLI and checks: exit 2, one line that matches `expected`, no output directory. */
async function expectOneLocatedLine(argv: string[], expected: RegExp, out?: string): Promise<void> {
  const r = await cli(out ? [...argv, '--out', out] : argv);
  const lines = r.err.trim().split('\n').filter((l) => l && !l.startsWith(NOTICE));
  assert.is(r.code, 2, `exit code (stderr: ${r.err})`);
  assert.is(lines.length, 1, `printed:\n${r.err}`);
  assert.match(lines[0], expected);
  assert.match(lines[0], /^[^:\n]+:\d+:\d+: /, 'the line is located (file:line:col:)');
  assert.ok(Number(/:(\d+):(\d+): /.exec(lines[0])![1]) >= 1);
  if (out) assert.not.ok(existsSync(out), 'an output directory was created for invalid input');
  assert.not.match(r.err, /\n\s+at /, 'a stack trace reached the user');
}

for (const f of fixtures) {
  test(`hostile: ${f}`, async () => {
    const file = join(hostileDir, f);
    const text = readFileSync(file, 'utf8');
    const expected = text.split('\n').filter((l) => l.startsWith('# expect: ')).map((l) => `${file}:${l.slice(10)}`);
    assert.is(expected.length, 1, 'a hostile fixture expects exactly one line');
    // fixtures about output.dir must not have it overridden by --out
    const out = /^output:/m.test(text) ? undefined : join(tempDir(), 'out');
    await expectOneLocatedLine([file], toRegex(expected[0]), out);
  });
}

// --- generated cases ---------------------------------------------------------------------------

const BASE = `name: tiny
data: {path: corpus.txt}
model:
  vars: {n_embd: 16, n_head: 2, block_size: 8}
  layers:
    - token_embedding: {dim: $n_embd}
    - position_embedding: {}
    - block: {attention: {n_head: $n_head}}
    - lm_head: {}
train: {steps: 5, batch_size: 4, eval: {interval: 5, iters: 2}}
`;
const GOOD_TEXT = 'It was the best of times, it was the worst of times, it was the age of wisdom.\n'.repeat(20);

/** A directory with an experiment (text or bytes) and a corpus (text or bytes). */
function setup(exp: string | Buffer = BASE, corpus: string | Buffer = GOOD_TEXT): { dir: string; file: string; out: string } {
  const dir = tempDir('nanolab-hostile-');
  const file = join(dir, 'exp.yaml');
  writeFileSync(file, exp);
  writeFileSync(join(dir, 'corpus.txt'), corpus);
  return { dir, file, out: join(dir, 'out') };
}

const generated: { name: string; run: () => Promise<void> }[] = [];
const gen = (name: string, run: () => Promise<void>) => generated.push({ name, run });
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

gen('the setup itself is valid (control)', async () => {
  const { file, out } = setup();
  const r = await cli([file, '--out', out, '--dry-run']);
  assert.is(r.code, 0, r.err);
});
gen('experiment file: invalid UTF-8', async () => {
  const { file, out } = setup(Buffer.concat([Buffer.from('name: ti'), Buffer.from([0xff, 0xfe]), Buffer.from(`ny\n${BASE.slice(11)}`)]));
  await expectOneLocatedLine([file], new RegExp(`^${esc(file)}:1:9: the file is not valid UTF-8 \\(byte 0xff\\)`), out);
});
gen('experiment file: a truncated multi-byte character', async () => {
  const { file, out } = setup(Buffer.concat([Buffer.from(`${BASE}description: caf`), Buffer.from([0xc3])]));
  await expectOneLocatedLine([file], new RegExp(`^${esc(file)}:11:17: the file is not valid UTF-8 \\(byte 0xc3\\)`), out);
});
gen('experiment file: an overlong UTF-8 encoding of "/"', async () => {
  const { file, out } = setup(Buffer.concat([Buffer.from(`${BASE}description: a`), Buffer.from([0xc0, 0xaf])]));
  await expectOneLocatedLine([file], /:11:15: the file is not valid UTF-8 \(byte 0xc0\)/, out);
});
gen('experiment file: binary (NUL bytes)', async () => {
  const { file, out } = setup(Buffer.concat([Buffer.from('name: tiny\nda'), Buffer.from([0, 1, 2, 3, 0x89, 0x50, 0x4e, 0x47])]));
  await expectOneLocatedLine([file], new RegExp(`^${esc(file)}:2:3: this is not a text file \\(it contains a NUL byte\\)`), out);
});
gen('experiment file: random bytes (a PNG header)', async () => {
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52]);
  const { file, out } = setup(png);
  await expectOneLocatedLine([file], /:1:1: the file is not valid UTF-8 \(byte 0x89\)/, out);
});
gen('experiment file: a directory', async () => {
  const { dir, out } = setup();
  await expectOneLocatedLine([dir], /:1:1: cannot read the experiment file \(EISDIR: it is a directory\)$/, out);
});
gen('experiment file: a character device (/dev/zero)', async () => {
  const { out } = setup();
  await expectOneLocatedLine(['/dev/zero'], /^\/dev\/zero:1:1: the experiment file is not a regular file/, out);
});
gen('experiment file: 2 MiB (over the 1 MiB limit)', async () => {
  const { file, out } = setup(`${BASE}description: "${'x'.repeat(2 << 20)}"\n`);
  await expectOneLocatedLine([file], /:1:1: the file is \d+ bytes; experiment files are limited to 1048576$/, out);
});
gen('experiment file: 10,000 nested [ in a value (deep nesting)', async () => {
  const { file, out } = setup(`${BASE}description: ${'['.repeat(10000)}\n`);
  await expectOneLocatedLine([file], /:11:78: nested more than 64 levels deep$/, out);
});
gen('experiment file: unreadable (chmod 000)', async () => {
  const { file, out } = setup();
  chmodSync(file, 0o000);
  if (isRoot) { console.log('  (skipped the read check: tests run as root, and chmod 000 does not stop root from reading)'); return; }
  await expectOneLocatedLine([file], /:1:1: cannot read the experiment file \(EACCES: permission denied\)$/, out);
});
gen('experiment file: does not exist', async () => {
  const { dir, out } = setup();
  await expectOneLocatedLine([join(dir, 'nope.yaml')], /nope\.yaml:1:1: cannot read the experiment file \(ENOENT\)$/, out);
});
gen('corpus: invalid UTF-8', async () => {
  const { file, out } = setup(BASE, Buffer.concat([Buffer.from(GOOD_TEXT), Buffer.from([0xe2, 0x28, 0xa1]), Buffer.from(GOOD_TEXT)]));
  await expectOneLocatedLine([file], /:2:14: data\.path: .*corpus\.txt is not valid UTF-8 \(byte 0xe2 at offset 1580, line 21\): save it as UTF-8$/, out);
});
gen('corpus: binary (NUL bytes)', async () => {
  const bytes = Buffer.alloc(4096);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 24;
  const { file, out } = setup(BASE, bytes);
  await expectOneLocatedLine([file], /:2:14: data\.path: .*corpus\.txt looks binary \(it contains NUL bytes\): give a UTF-8 text file$/, out);
});
gen('corpus: a named pipe (would block a plain read)', async () => {
  const { dir, file, out } = setup();
  rmSync(join(dir, 'corpus.txt'));
  try { execFileSync('mkfifo', [join(dir, 'corpus.txt')]); } catch { console.log('  (skipped: mkfifo unavailable)'); return; }
  await expectOneLocatedLine([file], /:2:14: data\.path: .*corpus\.txt is not a regular file \(a device, pipe or socket\)$/, out);
});
gen('corpus: 1 GiB (sparse; over the limit)', async () => {
  const { dir, file, out } = setup();
  truncateSync(join(dir, 'corpus.txt'), 2 ** 30);
  await expectOneLocatedLine([file], /:2:14: data\.path: .*corpus\.txt is 1\.0 GiB; corpora are limited to 0\.5 GiB$/, out);
});
gen('corpus: unreadable (chmod 000)', async () => {
  const { dir, file, out } = setup();
  chmodSync(join(dir, 'corpus.txt'), 0o000);
  if (isRoot) { console.log('  (skipped the read check: tests run as root, and chmod 000 does not stop root from reading)'); return; }
  await expectOneLocatedLine([file], /:2:14: data\.path: cannot read .*corpus\.txt: permission denied$/, out);
});
gen('corpus: only whitespace is still too short for block_size', async () => {
  const { file, out } = setup(BASE, ' \n');
  await expectOneLocatedLine([file], /:4:45: model\.vars\.block_size: block_size 8 needs more than 9 tokens in the train split, which has 1$/, out);
});
gen('--out under a regular file (/etc/passwd/x)', async () => {
  const { file } = setup();
  await expectOneLocatedLine([file, '--out', '/etc/passwd/x'], new RegExp(`^${esc(file)}:1:1: --out: /etc/passwd is a file, so /etc/passwd/x cannot be created under it$`));
});
gen('--out is a regular file', async () => {
  const { dir, file } = setup();
  await expectOneLocatedLine([file, '--out', join(dir, 'corpus.txt')], /:1:1: --out: .*corpus\.txt is a file, not a directory$/);
  assert.is(readFileSync(join(dir, 'corpus.txt'), 'utf8'), GOOD_TEXT, 'the file was not touched');
});
gen('--out in a read-only directory', async () => {
  const { dir, file } = setup();
  const ro = join(dir, 'ro');
  mkdirSync(ro);
  let unmount = () => {};
  if (isRoot) {
    // root ignores permission bits: a read-only filesystem is what stops it
    try { execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', ro], { stdio: 'ignore' }); unmount = () => execFileSync('umount', [ro]); } catch {
      console.log('  (skipped: running as root and cannot mount a read-only tmpfs)'); return;
    }
  } else chmodSync(ro, 0o555);
  try {
    await expectOneLocatedLine([file, '--out', join(ro, 'out')], /:1:1: --out: cannot write to .*ro \(to create .*ro\/out\) \((permission denied|read-only filesystem)\)$/);
  } finally { unmount(); }
});
gen('--out on a full disk', async () => {
  const { dir, file } = setup();
  const disk = join(dir, 'disk');
  mkdirSync(disk);
  let unmount: (() => void) | null = null;
  if (process.env.NANOLAB_TEST_NO_MOUNT !== '1') {
    try { execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', disk], { stdio: 'ignore' }); unmount = () => execFileSync('umount', [disk]); } catch { /* not root */ }
  }
  const saved = process.env.NANOLAB_MIN_FREE_BYTES;
  // without a mount (not root), simulate: demand more free space than any disk has
  if (!unmount) process.env.NANOLAB_MIN_FREE_BYTES = String(2 ** 62);
  try {
    await expectOneLocatedLine([file, '--out', join(disk, 'out')], /:1:1: --out: no space left on the device holding .*disk\/out \([\d.]+ (KiB|bytes|MiB|GiB) free; a sweep needs at least [\d.]+ (KiB|MiB|GiB)\)$/);
  } finally {
    unmount?.();
    if (saved === undefined) delete process.env.NANOLAB_MIN_FREE_BYTES; else process.env.NANOLAB_MIN_FREE_BYTES = saved;
  }
});
gen('--device gpu on a machine without one', async () => {
  const { file, out } = setup();
  const r = await cli([file, '--device', 'gpu', '--out', out, '--dry-run']);
  if (r.code === 0) { console.log('  (skipped: this machine has a GPU backend)'); return; }
  await expectOneLocatedLine([file, '--device', 'gpu'], /:1:1: device: no GPU backend is available on this machine/, out);
});
gen('output.dir in the file under a regular file', async () => {
  const { file } = setup(`${BASE}output: {dir: /etc/passwd/sub/dir}\n`);
  await expectOneLocatedLine([file], /:11:15: output\.dir: \/etc\/passwd is a file, so \/etc\/passwd\/sub\/dir cannot be created under it$/);
});

for (const g of generated) test(`hostile (generated): ${g.name}`, g.run);

test('bad command-line values exit 2 with one line and no stack trace', async () => {
  const { file, out } = setup();
  for (const argv of [[file, '--steps', '1e400'], [file, '--steps', '-3'], [file, '--shard', '3/3'], [file, '--shard', 'x/2'], [file, '--shard', '0/0'],
    [file, '--shard', 'auto/2'], [file, '--device', 'tpu'], [file, '--bogus']]) {
    const saved = { s: process.env.SLURM_ARRAY_TASK_ID, k: process.env.JOB_COMPLETION_INDEX };
    delete process.env.SLURM_ARRAY_TASK_ID; delete process.env.JOB_COMPLETION_INDEX;
    const r = await cli([...argv, '--out', out]);
    Object.assign(process.env, Object.fromEntries(Object.entries({ SLURM_ARRAY_TASK_ID: saved.s, JOB_COMPLETION_INDEX: saved.k }).filter(([, v]) => v !== undefined)));
    assert.is(r.code, 2, argv.join(' '));
    assert.match(r.err, /^nanolab: /);
    assert.not.match(r.err, /\n\s+at /);
    assert.not.ok(existsSync(out));
  }
});

test(`at least 50 hostile inputs in all (${invalidCount} invalid + ${fixtures.length} hostile fixtures + ${generated.length - 1} generated)`, () => {
  assert.ok(invalidCount + fixtures.length + generated.length - 1 >= 50);
});

test.run();
