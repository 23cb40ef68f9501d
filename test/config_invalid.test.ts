// Every fixture in test/fixtures/invalid ends with `# expect: line:col: path: message` lines:
// the CLI must print exactly those (located) problems, exit 2, and write nothing.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, tempDir } from './helpers.ts';

const dir = 'test/fixtures/invalid';
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();

test('there are at least 25 invalid fixtures', () => {
  assert.ok(files.length >= 25, `${files.length} fixtures`);
});

const toRegex = (s: string) => new RegExp(`^${s.split('.*').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);

for (const f of files) {
  test(`invalid: ${f}`, async () => {
    const file = join(dir, f);
    const expected = readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith('# expect: ')).map((l) => `${file}:${l.slice(10)}`);
    assert.ok(expected.length > 0, 'fixture has no # expect line');
    const out = join(tempDir(), 'out');
    const r = await cli([file, '--out', out]);
    assert.is(r.code, 2, `exit code (stderr: ${r.err})`);
    const lines = r.err.trim().split('\n').filter((l) => !l.startsWith('nanolab: native CPU backend unavailable'));
    assert.is(lines.length, expected.length, `printed:\n${r.err}`);
    expected.forEach((e, i) => assert.match(lines[i], toRegex(e)));
    assert.not.ok(existsSync(out), 'an output directory was created for invalid input');
  });
}

test('a missing experiment file is a located usage error', async () => {
  const r = await cli(['test/fixtures/nope.yaml', '--dry-run']);
  assert.is(r.code, 2);
  assert.match(r.err, /^test\/fixtures\/nope\.yaml:1:1: cannot read the experiment file \(ENOENT\)/);
});

test('bad command-line options exit 2 with usage', async () => {
  for (const argv of [['--bogus'], ['a.yaml', '--steps', 'zero'], ['a.yaml', '--device', 'tpu'], []]) {
    const r = await cli(argv);
    assert.is(r.code, 2, argv.join(' '));
    assert.ok(r.err.length > 0);
  }
});

test.run();
