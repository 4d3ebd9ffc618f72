// The bad-sector set and the bounded result: sorted intervals, coalescing, caps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RangeList, RangeSet } from './ranges.js';
import { Collector } from './collect.js';
import { bufferSource, volumeSource } from './source.js';
import { formatVolume } from '../commands/format.js';
import { openWritable } from '../integrity/writable.js';
import { openVolume } from '../volume.js';
import { pseudoRandom, tmpDir } from '../../testing/fsmap-tools.js';
import fs from 'node:fs';
import path from 'node:path';
import { nth } from '../../testing/must.js';

test('RangeSet merges, searches and subtracts', () => {
  const s = RangeSet.from([
    [10, 20],
    [15, 30],
    [40, 41],
    [0, 2],
    [30, 35],
  ]);
  assert.deepEqual(s.pairs(), [
    [0, 2],
    [10, 35],
    [40, 41],
  ]);
  assert.equal(s.total, 28);
  assert.ok(s.has(10) && s.has(34) && !s.has(35) && !s.has(2) && s.has(40));
  assert.ok(s.intersects(34, 36) && !s.intersects(35, 40) && !s.intersects(2, 10));
  assert.deepEqual(s.within(12, 41), [
    [12, 35],
    [40, 41],
  ]);
  assert.deepEqual(
    s
      .minus(
        RangeSet.from([
          [11, 12],
          [30, 100],
        ]),
      )
      .pairs(),
    [
      [0, 2],
      [10, 11],
      [12, 30],
    ],
  );
  assert.deepEqual(s.toUnits(8).pairs(), [[0, 6]]);
  assert.deepEqual(
    RangeSet.from([
      [0, 8],
      [24, 25],
    ])
      .toUnits(8)
      .pairs(),
    [
      [0, 1],
      [3, 4],
    ],
  );
  assert.throws(() => RangeSet.from([[3, 3]]), /invalid sector range/);
  assert.throws(() => RangeSet.from([[0, 9]], 8), /past the end/);
  const l = new RangeList();
  l.add(0, 4);
  l.add(4, 8);
  l.add(20, 24);
  l.add(8, 9);
  assert.deepEqual(l.finish().pairs(), [
    [0, 9],
    [20, 24],
  ]);
});

test('a million bad blocks in one file make one item, its lists capped with their totals', () => {
  // every other 4 KiB block of a 2-million-block file is bad
  const bad = RangeSet.fromPairs(Array.from({ length: 1_000_000 }, (_, i) => [i * 16, i * 16 + 8] as [number, number]));
  const c = new Collector(bad, 4096, { maxRanges: 100 });
  c.file({ inode: 12, file_type: 'regular', size: 2_000_000 * 4096 }, 0, 2_000_000, 0, false, null);
  const items = c.finish(new Map([[12, { paths: ['/big'], paths_total: 1 }]]));
  assert.equal(items.length, 1);
  const it = nth(items, 0, 'item');
  assert.ok(it.kind === 'file');
  assert.equal(it.ranges.length, 100);
  assert.equal(it.ranges_total, 1_000_000);
  assert.equal(it.sectors, 8_000_000);
  assert.equal(it.byte_ranges.length, 100);
  assert.equal(it.byte_ranges_total, 1_000_000);
  assert.deepEqual(it.byte_ranges[1], [8192, 12288]);
  assert.ok(JSON.stringify(items).length < 20_000);
});

test('volumeSource reads unaligned sector ranges of a 4 KiB-block volume as the data written', () => {
  const dir = tmpDir('fsmap-src-');
  try {
    const vol = path.join(dir, 'v.img');
    formatVolume(vol, { size: 8 << 20, sectorSize: 4096 });
    const data = pseudoRandom(1 << 20, 77);
    const w = openWritable(vol, {});
    w.write(0, data);
    w.flush();
    w.close();
    const v = openVolume(vol, { readOnly: true });
    try {
      const src = volumeSource(v);
      const mem = bufferSource(data);
      for (const [s, n] of [
        [0, 8],
        [3, 1],
        [5, 17],
        [1000, 48],
        [2047, 1],
      ] as [number, number][]) {
        const a = Buffer.alloc(n * 512);
        const b = Buffer.alloc(n * 512);
        assert.equal(src.read(s, n, a), null);
        mem.read(s, n, b);
        assert.ok(a.equals(b), `sectors ${s}+${n}`);
      }
      assert.throws(() => src.read(src.sectors - 1, 2, Buffer.alloc(1024)), /outside the volume/);
    } finally {
      v.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
