// Bitmap mode against the real kernel (../shared/oracle), one VM boot:
//  - a volume we write in bitmap mode and abandon (dirty bits on disk, one torn block whose tag was never
//    written) is opened by the kernel in B mode: it recalculates the dirty region, reads our data with 0
//    mismatches, and what it leaves verifies here; opened in J mode instead, it recalculates everything;
//  - the kernel writes in B mode and crashes (sysrq b) before its bitmap flush: we find its dirty bits, do not
//    report its dirty region, and recover the volume (recalculation) to the kernel's data with 0 mismatches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { golden, goldenCopy, goldenPath, tmpDir, patternSector } from '../../testing/golden.js';
import { runOracle, skipWithoutOracle } from '../../testing/oracle.js';
import { openVolume } from '../volume.js';
import { openWritable, type WritableVolume } from './writable.js';
import { BITMAP_OFFSET } from '../layout/bitmap.js';
import { SB_FLAG_DIRTY_BITMAP, SB_FLAG_RECALCULATING, SECTOR_SIZE } from '../layout/superblock.js';

function pattern(tag: string, start: number, sectors: number): Buffer {
  return Buffer.concat(Array.from({ length: sectors }, (_, i) => patternSector(tag, start + i)));
}

function crash(w: WritableVolume): void {
  w.meta.close();
}

function view(img: string, checkDirty = false): { sha: string; bad: number[]; unchecked: number; data: Buffer; flags: number } {
  const vol = openVolume(img);
  try {
    if (checkDirty) vol.target.uncheckedRegion = null;
    const n = vol.geometry.provided_data_sectors;
    const data = Buffer.alloc(n * SECTOR_SIZE);
    const bad: number[] = [];
    vol.target.read(0, n, data, 0, (s) => bad.push(s));
    return { sha: crypto.createHash('sha256').update(data).digest('hex'), bad, unchecked: vol.target.stats.unchecked_blocks, data, flags: vol.sb.flags };
  } finally {
    vol.close();
  }
}

test("bitmap mode with the kernel: our unclean bitmap session recovered by the kernel (B and J mode); the kernel's crashed bitmap session recovered here", async (t) => {
  if (skipWithoutOracle(t)) return;
  const dir = tmpDir('oracle-bitmap-');
  const e = golden('e-bitmap');
  // ours: bitmap-mode writes, then an unclean stop with a torn block in the dirty region
  const ob = goldenCopy(e.files[0]!, dir);
  const w = openWritable(ob, { mode: 'bitmap', bitmapSectorsPerBit: 1024 });
  w.write(5000 * 512, pattern('OB', 5000, 16));
  const g = w.geometry;
  crash(w);
  const torn = pattern('TRN', 5100, 1);
  const fd = fs.openSync(ob, 'r+');
  fs.writeSync(fd, torn, 0, 512, (g.initial_sectors + g.metadata_run + 5100) * 512);
  fs.closeSync(fd);
  const oj = path.join(dir, 'oj.img');
  fs.copyFileSync(ob, oj);
  const before = view(ob);
  assert.ok(before.flags & SB_FLAG_DIRTY_BITMAP);
  assert.deepEqual(before.bad, []);
  assert.equal(before.unchecked, 1024);
  assert.ok(view(ob, true).bad.includes(5100), 'the torn block fails its tag until recalculated');
  // the kernel's session, to be crashed
  const kc = path.join(dir, 'kc.img');
  fs.copyFileSync(goldenPath(e.files[0]!), kc);
  fs.chmodSync(kc, 0o644);

  const script = `set -u
integritysetup open --integrity-bitmap-mode --bitmap-sectors-per-bit 1024 /dev/vda ob && sleep 1 && echo "RESULT ob $(dd if=/dev/mapper/ob bs=64k iflag=direct status=none | sha256sum | cut -d' ' -f1) $(dmsetup status ob | cut -d' ' -f4,6)"; integritysetup close ob
integritysetup open /dev/vdb oj && sleep 1 && echo "RESULT oj $(dd if=/dev/mapper/oj bs=64k iflag=direct status=none | sha256sum | cut -d' ' -f1) $(dmsetup status oj | cut -d' ' -f4,6)"; integritysetup close oj
integritysetup open --integrity-bitmap-mode --bitmap-sectors-per-bit 1024 --bitmap-flush-time 600000 /dev/vdc kc && yes KC-bitmap | head -c 32768 | dd of=/dev/mapper/kc bs=4096 seek=1536 oflag=direct status=none && echo "WROTE kc $(dmsetup table kc | grep -o 'B [0-9]*')"
echo CRASH; sleep 1; echo b > /proc/sysrq-trigger; sleep 10
`;
  const r = runOracle(script, [ob, oj, kc], { timeoutSec: 300 });
  const lines = r.stdout.split('\n');
  t.diagnostic(lines.filter((l) => /^(RESULT|WROTE|CRASH)/.test(l)).join(' | '));
  assert.ok(
    lines.some((l) => l.startsWith('CRASH')),
    `oracle ran to the crash: ${r.stderr.slice(-1500)}\n${r.stdout.slice(-1500)}`,
  );
  for (const name of ['ob', 'oj']) {
    const res = lines
      .find((l) => l.startsWith(`RESULT ${name} `))
      ?.trim()
      .split(/\s+/)
      .slice(2);
    assert.deepEqual(res, [before.sha, '0', String(g.provided_data_sectors)], `${name}: the kernel recalculated and reads our data with 0 mismatches`);
    const after = view(name === 'ob' ? ob : oj);
    assert.deepEqual(after.bad, [], `${name}: every block verifies after the kernel's recovery, the torn one too`);
    assert.equal(after.unchecked, 0);
    assert.equal(after.sha, before.sha);
    assert.equal(after.flags & SB_FLAG_DIRTY_BITMAP, 0);
    assert.ok(after.flags & SB_FLAG_RECALCULATING);
  }
  // the kernel crashed mid-session: its bit for sectors 12288.. (bit 12) is on disk, DIRTY_BITMAP set
  assert.ok(lines.some((l) => l.startsWith('WROTE kc')));
  const bitmapByte = Buffer.alloc(1);
  const kfd = fs.openSync(kc, 'r');
  fs.readSync(kfd, bitmapByte, 0, 1, BITMAP_OFFSET + 1);
  fs.closeSync(kfd);
  assert.equal(bitmapByte[0]! & 0x10, 0x10, 'the kernel set bit 12 before writing');
  const crashed = view(kc);
  assert.ok(crashed.flags & SB_FLAG_DIRTY_BITMAP);
  assert.deepEqual(crashed.bad, [], 'no block outside the dirty regions fails');
  assert.ok(crashed.unchecked >= 1024);
  const expected = Buffer.alloc(32768);
  const line = Buffer.from('KC-bitmap\n');
  for (let i = 0; i < expected.length; i++) expected[i] = line[i % line.length]!;
  assert.ok(crashed.data.subarray(12288 * 512, 12288 * 512 + 32768).equals(expected), "the kernel's data reached the disk");
  t.diagnostic(`kernel crash left ${view(kc, true).bad.length} blocks whose tags were not yet written`);
  const rec = openWritable(kc, { mode: 'bitmap', bitmapSectorsPerBit: 1024 });
  rec.close();
  const recovered = view(kc);
  assert.deepEqual(recovered.bad, []);
  assert.equal(recovered.unchecked, 0);
  assert.ok(recovered.data.subarray(12288 * 512, 12288 * 512 + 32768).equals(expected));
  assert.equal(recovered.flags & SB_FLAG_DIRTY_BITMAP, 0);
  fs.rmSync(dir, { recursive: true, force: true });
});
