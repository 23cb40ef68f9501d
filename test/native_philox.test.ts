// Philox4x32-10 in native/kernels/philox.h against core/random/philox.ts: the known answer, and
// dropout masks identical element for element (sizes around the 4-word blocks and the C++
// chunking, seeds and call ids beyond 2^32).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { dropoutMask, philox4x32 } from '../core/random/philox.ts';
import { split64 } from '../native/binding.ts';
import { nb } from '../native/kernels/util.ts';
import { nativeAvailable } from '../native/test/tf_helpers.ts';

const test = suite('native philox');

if (nativeAvailable(test, 'native philox tests')) {
  test('known answer: philox4x32_10(ctr 0, key 0)', () => {
    const out = new Uint32Array(4);
    nb().philox(out, 0, 0, 0, 0, 0, 0);
    assert.equal(Array.from(out, (w) => w.toString(16).padStart(8, '0')), ['6627e8d5', 'e169c58d', 'bc57ac4c', '9b00dbd8']);
  });

  test('random counters and keys match the TS implementation', () => {
    const js = new Uint32Array(4), cc = new Uint32Array(4);
    let s = 12345;
    const next = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0);
    for (let i = 0; i < 200; i++) {
      const a = [next(), next(), next(), next(), next(), next()] as const;
      philox4x32(...a, js);
      nb().philox(cc, ...a);
      assert.equal(Array.from(cc), Array.from(js));
    }
  });

  test('dropout masks identical to core/random/philox.ts dropoutMask', () => {
    const cases: Array<[number, number, number, number]> = [
      [0, 0.1, 1, 0], [1, 0.5, 1, 1], [3, 0.5, 7, 2], [4, 0.25, 7, 3], [5, 0.9, 42, 4], [1001, 0.1, 42, 5],
      [4097, 0.3, 2 ** 40 + 3, 2 ** 33 + 7], [12345, 0.5, 2 ** 53 - 1, 2 ** 52 + 1], [777, 1e-9, 5, 6], [100, 0.999, 5, 7],
    ];
    for (const [n, rate, seed, callId] of cases) {
      const want = dropoutMask(n, rate, seed, callId);
      const got = new Float32Array(n);
      nb().dropoutMask(got, rate, ...split64(seed), ...split64(callId));
      for (let i = 0; i < n; i++) if (got[i] !== want[i]) assert.unreachable(`n=${n} rate=${rate} seed=${seed} call=${callId}: element ${i} ${got[i]} vs ${want[i]}`);
    }
  });

  test.run();
}
