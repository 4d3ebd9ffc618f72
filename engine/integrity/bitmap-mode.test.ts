// Bitmap mode: bitmap layout, the kernel's open/write/flush/close sequence on real image files, an unclean
// close (dirty bits left on disk) read without verifying dirty regions, and recovery by recalculation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { golden, goldenCopy, goldenPath, tmpDir, patternSector } from '../../testing/golden.js';
import { openVolume } from '../volume.js';
import { openWritable, type WritableVolume } from './writable.js';
import { Bitmap, bitmapBlocks, BITMAP_OFFSET, log2BlocksPerBitmapBit } from '../layout/bitmap.js';
import { SB_FLAG_DIRTY_BITMAP, SB_FLAG_RECALCULATING, SECTOR_SIZE } from '../layout/superblock.js';
import { tagOffset } from '../layout/geometry.js';
import { replayOnDisk } from './replay.js';

const e = golden('e-bitmap');
const dir = tmpDir('bitmap-');

function pattern(tag: string, start: number, sectors: number): Buffer {
  return Buffer.concat(Array.from({ length: sectors }, (_, i) => patternSector(tag, start + i)));
}

function readAt(file: string, pos: number, len: number): Buffer {
  const b = Buffer.alloc(len);
  const fd = fs.openSync(file, 'r');
  fs.readSync(fd, b, 0, len, pos);
  fs.closeSync(fd);
  return b;
}

function writeAt(file: string, pos: number, data: Buffer): void {
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, data, 0, data.length, pos);
  fs.closeSync(fd);
}

/** an unclean stop: the devices are closed without the kernel's postsuspend */
function crash(w: WritableVolume): void {
  if (w.data !== w.meta) w.data.close();
  w.meta.close();
}

function verifyAll(img: string): { bad: number[]; unchecked: number; data: Buffer; flags: number; recalc: number } {
  const vol = openVolume(img);
  try {
    const n = vol.geometry.provided_data_sectors;
    const data = Buffer.alloc(n * SECTOR_SIZE);
    const bad: number[] = [];
    vol.target.read(0, n, data, 0, (s) => bad.push(s));
    return { bad, unchecked: vol.target.stats.unchecked_blocks, data, flags: vol.sb.flags, recalc: vol.sb.recalc_sector };
  } finally {
    vol.close();
  }
}

test('bitmap layout: bit = sector >> (log2 sectors per block + log2 blocks per bit), LSB first; sizing as dm_integrity_ctr', () => {
  const vol = openVolume(goldenPath(e.files[0]!));
  const g = vol.geometry;
  vol.close();
  assert.equal(log2BlocksPerBitmapBit(g), 15); // the kernel's choice for e (superblock log2_blocks_per_bitmap 15)
  assert.equal(log2BlocksPerBitmapBit(g, 1024), 10);
  assert.equal(log2BlocksPerBitmapBit(g, 1), 0);
  assert.equal(bitmapBlocks(g, 0), 1); // 32328 bits fit in one 4096-byte block (32768 bits)
  const bm = new Bitmap(g, 10);
  bm.set(5000, 8);
  assert.equal(bm.bytes[0], 1 << 4); // sector 5000 >> 10 = bit 4
  assert.ok(bm.allSet(4096, 1024) && !bm.allSet(4096, 2048) && !bm.allClear(0, 32328) && bm.allClear(0, 4096));
  bm.set(20 * 1024, 3 * 1024);
  assert.equal(bm.bytes[2], 0b01110000); // bits 20, 21, 22
  assert.deepEqual(bm.dirtyRuns(), [
    [4096, 1024],
    [20480, 3072],
  ]);
  bm.clear(0, 32328);
  assert.ok(bm.allClear(0, 32328));
});

test('bitmap mode write on golden e: DIRTY_BITMAP and a clear bitmap on open, the bit written before the data, cleared by the flush work, journal re-initialised on close byte-exact', () => {
  const img = goldenCopy(e.files[0]!, dir);
  const journalBefore = readAt(img, BITMAP_OFFSET, 176 * 512);
  const w = openWritable(img, { mode: 'bitmap', bitmapSectorsPerBit: 1024, bitmapFlushTime: 3600_000 });
  assert.ok(w.sb.flags & SB_FLAG_DIRTY_BITMAP);
  assert.equal(w.sb.log2_blocks_per_bitmap_bit, 10);
  const sbOnDisk = openVolume(img, { superblockOnly: true });
  assert.ok(sbOnDisk.sb.flags & SB_FLAG_DIRTY_BITMAP, 'DIRTY_BITMAP is on disk before any write');
  assert.equal(sbOnDisk.sb.version, 5);
  sbOnDisk.close();
  assert.ok(readAt(img, BITMAP_OFFSET, 4096).equals(Buffer.alloc(4096)), 'bitmap written clear');
  w.write(5000 * 512, pattern('B', 5000, 16));
  assert.equal(readAt(img, BITMAP_OFFSET, 1)[0], 1 << 4, 'bit 4 is on disk');
  w.write(20480 * 512, pattern('B', 20480, 8));
  assert.equal(readAt(img, BITMAP_OFFSET + 2, 1)[0], 1 << 4);
  w.flush(); // the flush interval has not passed: bits stay
  assert.equal(readAt(img, BITMAP_OFFSET, 1)[0], 1 << 4);
  w.close();
  const after = openVolume(img);
  assert.equal(after.sb.flags & SB_FLAG_DIRTY_BITMAP, 0);
  assert.equal(after.sb.log2_blocks_per_bitmap_bit, 10);
  after.close();
  assert.ok(readAt(img, BITMAP_OFFSET, 176 * 512).equals(journalBefore), 'postsuspend leaves the empty journal the kernel left');
  const v = verifyAll(img);
  assert.deepEqual(v.bad, []);
  assert.ok(v.data.subarray(5000 * 512, 5016 * 512).equals(pattern('B', 5000, 16)));
});

test('bitmap flush work: after the flush interval the bits are cleared on disk', () => {
  const img = goldenCopy(e.files[0]!, dir);
  const w = openWritable(img, { mode: 'bitmap', bitmapSectorsPerBit: 1024, bitmapFlushTime: 0 });
  w.write(5000 * 512, pattern('F', 5000, 8));
  assert.equal(readAt(img, BITMAP_OFFSET, 1)[0], 1 << 4);
  w.flush();
  assert.equal(readAt(img, BITMAP_OFFSET, 1)[0], 0);
  // a second write to the same region sets the bit again (may_write was cleared too)
  w.write(5008 * 512, pattern('F', 5008, 8));
  assert.equal(readAt(img, BITMAP_OFFSET, 1)[0], 1 << 4);
  w.close();
});

test('unclean bitmap-mode close: dirty regions are not verified read-only; a bitmap-mode open recalculates exactly them', () => {
  const img = goldenCopy(e.files[0]!, dir);
  const w = openWritable(img, { mode: 'bitmap', bitmapSectorsPerBit: 1024 });
  w.write(5000 * 512, pattern('C', 5000, 16));
  const g = w.geometry;
  crash(w);
  // a torn write in the dirty region: new data on disk, its tag never written
  const torn = pattern('T', 5100, 1);
  writeAt(img, (g.initial_sectors + g.metadata_run + 5100) * 512, torn);
  // and damage outside any dirty region, which must still be reported
  const badTag = tagOffset(g, 30000);
  const saved = readAt(img, badTag, 4);
  writeAt(img, badTag, Buffer.from([saved[0]! ^ 0xff, saved[1]!, saved[2]!, saved[3]!]));
  const ro = verifyAll(img);
  assert.ok(ro.flags & SB_FLAG_DIRTY_BITMAP);
  assert.deepEqual(ro.bad, [30000], 'only the clean-region damage is reported');
  assert.equal(ro.unchecked, 1024, 'the one dirty region (1024 sectors) is not verified');
  writeAt(img, badTag, saved);
  // the kernel's resume in B mode: RECALCULATING from 0, only dirty regions recalculated, bits cleared
  const w2 = openWritable(img, { mode: 'bitmap', bitmapSectorsPerBit: 1024, bitmapFlushTime: 0 });
  assert.ok(w2.sb.flags & SB_FLAG_RECALCULATING);
  assert.equal(w2.sb.recalc_sector, g.provided_data_sectors);
  assert.equal(w2.target.uncheckedRegion, null);
  w2.close();
  const v = verifyAll(img);
  assert.deepEqual(v.bad, []);
  assert.equal(v.unchecked, 0);
  assert.ok(v.data.subarray(5100 * 512, 5101 * 512).equals(torn), 'the torn block now verifies with its new data');
  assert.ok(v.data.subarray(5000 * 512, 5016 * 512).equals(pattern('C', 5000, 16)));
  assert.equal(v.flags & SB_FLAG_DIRTY_BITMAP, 0);
  assert.ok(v.flags & SB_FLAG_RECALCULATING, 'the kernel leaves RECALCULATING set, at provided_data_sectors');
  assert.equal(v.recalc, g.provided_data_sectors);
});

test('a journal-mode open of a dirty bitmap recalculates everything, clears DIRTY_BITMAP and starts a fresh journal', () => {
  const img = goldenCopy(e.files[0]!, dir);
  const w = openWritable(img, { mode: 'bitmap', bitmapSectorsPerBit: 1024 });
  w.write(8000 * 512, pattern('J', 8000, 8));
  const g = w.geometry;
  crash(w);
  const torn = pattern('X', 8003, 1);
  writeAt(img, (g.initial_sectors + g.metadata_run + 8003) * 512, torn);
  const j = openWritable(img, { mode: 'journal' });
  assert.equal(j.sb.flags & SB_FLAG_DIRTY_BITMAP, 0);
  assert.ok(j.sb.flags & SB_FLAG_RECALCULATING);
  j.write(100 * 512, pattern('J', 100, 8));
  j.close();
  const v = verifyAll(img);
  assert.deepEqual(v.bad, []);
  assert.ok(v.data.subarray(8003 * 512, 8004 * 512).equals(torn));
  assert.ok(v.data.subarray(100 * 512, 108 * 512).equals(pattern('J', 100, 8)));
  // a clean bitmap (nothing written before the crash) needs no recalculation
  const img2 = goldenCopy(e.files[0]!, dir);
  crash(openWritable(img2, { mode: 'bitmap' }));
  const j2 = openWritable(img2, { mode: 'direct' });
  assert.equal(j2.sb.flags & (SB_FLAG_DIRTY_BITMAP | SB_FLAG_RECALCULATING), 0);
  j2.close();
});

test('bitmap mode refuses journal options with one clear error (integritysetup: "Journal options cannot be used in bitmap mode")', () => {
  const h = golden('h-journal-mac-crypt');
  const img = goldenCopy(h.files[0]!, dir);
  assert.throws(
    () =>
      openWritable(img, {
        mode: 'bitmap',
        journalIntegrity: 'hmac-sha256',
        journalIntegrityKey: Buffer.from(h.keys_hex!.journal_integrity_key!, 'hex'),
        journalCrypt: 'ctr-aes',
        journalCryptKey: Buffer.from(h.keys_hex!.journal_crypt_key!, 'hex'),
      }),
    /journal options \(--journal-integrity, --journal-crypt\) cannot be used in bitmap mode/,
  );
});

test('bitmap mode: a discard sets its bit first too; replaying a dirty bitmap as a journal is refused clearly', () => {
  const img = goldenCopy(e.files[0]!, dir);
  const w = openWritable(img, { mode: 'bitmap', bitmapSectorsPerBit: 1024, allowDiscards: true });
  w.discard(9216 * 512, 2048 * 512); // bits 9 and 10
  assert.equal(readAt(img, BITMAP_OFFSET + 1, 1)[0], 0b110);
  crash(w);
  const vol = openVolume(img, { readOnly: false });
  try {
    assert.throws(() => replayOnDisk(vol), /dirty bitmap, not a journal/);
  } finally {
    vol.close();
  }
  const v = verifyAll(img);
  assert.deepEqual(v.bad, []);
  assert.equal(v.unchecked, 2048);
});

test('bitmap mode with 4096-byte blocks (golden b): bits count blocks, an unclean close is recovered', () => {
  const b = golden('b-sector4096');
  const img = goldenCopy(b.files[0]!, dir);
  const w = openWritable(img, { mode: 'bitmap', bitmapSectorsPerBit: 1024 });
  assert.equal(w.sb.log2_blocks_per_bitmap_bit, 7); // 1024 sectors = 128 blocks of 4096 bytes
  w.write(3072 * 512, pattern('Q', 3072, 64));
  const g = w.geometry;
  crash(w);
  assert.equal(readAt(img, BITMAP_OFFSET, 1)[0], 1 << 3);
  writeAt(img, (g.initial_sectors + g.metadata_run + 3200) * 512, pattern('T', 3200, 8));
  const ro = verifyAll(img);
  assert.deepEqual(ro.bad, []);
  assert.equal(ro.unchecked, 128);
  openWritable(img, { mode: 'bitmap', bitmapSectorsPerBit: 1024 }).close();
  const v = verifyAll(img);
  assert.deepEqual(v.bad, []);
  assert.ok(v.data.subarray(3200 * 512, 3208 * 512).equals(pattern('T', 3200, 8)));
});
