// The same sweep trained inside the test runner and by a separate `runner.ts` process gives the
// same curves byte for byte: both must use the same kernels (native fused ops included).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, tempDir, tinyExperiment } from './helpers.ts';

test('in-process and child-process runs of one experiment give identical curves', async () => {
  const file = tinyExperiment({ name: 'same', train: '{steps: 30, batch_size: 8, eval: {interval: 10, iters: 2}}' });
  const a = join(tempDir(), 'a'), b = join(tempDir(), 'b');
  assert.is((await cli([file, '--out', a, '--quiet'])).code, 0);
  execFileSync(process.execPath, ['--import', 'tsx', 'runner.ts', file, '--out', b, '--quiet'], { stdio: 'ignore' });
  const [ra] = parse(readFileSync(join(a, 'results.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
  const [rb] = parse(readFileSync(join(b, 'results.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
  assert.is(ra.backend, rb.backend);
  assert.is(readFileSync(join(a, 'curves', `${ra.run_id}.csv`), 'utf8'), readFileSync(join(b, 'curves', `${rb.run_id}.csv`), 'utf8'));
});

test.run();
