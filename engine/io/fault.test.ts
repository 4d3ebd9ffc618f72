import test from 'node:test';
import assert from 'node:assert/strict';
import { FaultDevice } from './fault.js';

const sector = (v: number, n = 1) => Buffer.alloc(512 * n, v);

test('FaultDevice: writes before the last flush are durable, later ones kept, dropped or torn by sector', () => {
  const dev = new FaultDevice(Buffer.alloc(8 * 512));
  dev.write(sector(1, 2), 0);
  dev.flush();
  dev.write(sector(2, 4), 0); // unflushed, 4 sectors
  dev.write(sector(3), 7 * 512);
  assert.equal(dev.log.length, 4);
  // what reads see is the latest contents
  const b = Buffer.alloc(512);
  dev.read(b, 0);
  assert.equal(b[0], 2);
  const fates = new Set<string>();
  for (let seed = 0; seed < 200; seed++) {
    const img = dev.crashAt(4, seed);
    const s = [0, 1, 2, 3, 7].map((i) => img[i * 512]!);
    // sectors 0-1: flushed 1 or unflushed 2; 2-3: 0 or 2; 7: 0 or 3; never anything else
    assert.ok([1, 2].includes(s[0]!) && [1, 2].includes(s[1]!), `seed ${seed}: ${s}`);
    assert.ok([0, 2].includes(s[2]!) && [0, 2].includes(s[3]!), `seed ${seed}: ${s}`);
    assert.ok([0, 3].includes(s[4]!), `seed ${seed}: ${s}`);
    for (let i = 0; i < 8; i++)
      assert.equal(
        img.subarray(i * 512, (i + 1) * 512).every((x) => x === img[i * 512]),
        true,
        'sector-atomic',
      );
    fates.add(s.slice(0, 4).join(''));
  }
  assert.ok(fates.has('1100'), 'the write can be dropped');
  assert.ok(fates.has('2222'), 'the write can survive');
  assert.ok(
    [...fates].some((f) => f !== '1100' && f !== '2222'),
    'the write can be torn',
  );
  // crash before the flush: nothing survives as durable, the first write may or may not be there
  const early = dev.crashAt(1, 5);
  assert.ok([0, 1].includes(early[0]!));
  // reproducible
  assert.deepEqual(dev.crashAt(4, 42), dev.crashAt(4, 42));
});
