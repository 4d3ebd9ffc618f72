// Recalculation with the real kernel (../shared/oracle, one VM boot): a recalculation we paused and resumed to
// the end opens in the kernel with our data and 0 mismatches; a recalculation we paused mid-way is continued by
// the kernel (the superblock flag makes it resume at recalc_sector) and then verifies here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { tmpDir } from '../../testing/golden.js';
import { runOracle, skipWithoutOracle } from '../../testing/oracle.js';
import { formatVolume } from '../commands/format.js';
import { openVolume, readSuperblock } from '../volume.js';
import { FileDevice } from '../io/device.js';
import { SECTOR_SIZE } from '../layout/superblock.js';
import { startJob } from './index.js';

function overData(img: string, mib: number, seed: string): void {
  const b = Buffer.alloc(mib << 20);
  let h = crypto.createHash('sha256').update(seed).digest();
  for (let i = 0; i < b.length; i += 32) {
    h.copy(b, i);
    if ((i & 4095) === 0) h = crypto.createHash('sha256').update(h).digest();
  }
  fs.writeFileSync(img, b);
  formatVolume(img, { noWipe: true, integrityRecalculate: true, force: true, interleaveSectors: 1024 });
}

function view(img: string): { sha: string; bad: number; unchecked: number; recalc: number } {
  const vol = openVolume(img, { readOnly: true });
  try {
    const data = Buffer.alloc(vol.geometry.provided_data_sectors * SECTOR_SIZE);
    const bad = vol.target.read(0, vol.geometry.provided_data_sectors, data, 0, () => {});
    return { sha: crypto.createHash('sha256').update(data).digest('hex'), bad, unchecked: vol.target.stats.unchecked_blocks, recalc: vol.sb.recalc_sector };
  } finally {
    vol.close();
  }
}

/** Paused after its first progress event; the rate limit (1 MiB/s over 4 MiB) keeps the pause from racing the end. */
async function recalcUntilPaused(img: string): Promise<number> {
  const h = startJob({ kind: 'recalc', device: img, maxBytesPerSecond: 1 << 20 }, (p) => {
    if (p.state === 'running') void h.pause();
  });
  const p = await h.finished;
  assert.equal(p.state, 'paused');
  return p.position_sector;
}

test('recalculation with the kernel: ours (paused, resumed) opens clean there; ours paused is finished there', async (t) => {
  if (skipWithoutOracle(t)) return;
  const dir = tmpDir('oracle-jobs-');
  const done = path.join(dir, 'done.img');
  const half = path.join(dir, 'half.img');
  overData(done, 4, 'done');
  overData(half, 4, 'half');
  // ours: pause at the first chunk (RECALC_SECTORS within 1024-sector areas), resume to the end
  const at = await recalcUntilPaused(done);
  assert.ok(at > 0 && at < readSuperblock(FileDevice.open(done, { readOnly: true })).provided_data_sectors);
  const fin = await startJob({ kind: 'recalc', device: done }, () => {}).finished;
  assert.equal(fin.state, 'done');
  const ours = view(done);
  assert.equal(ours.bad, 0);
  assert.equal(ours.unchecked, 0);
  // paused for the kernel to continue
  const halfAt = await recalcUntilPaused(half);
  const halfView = view(half);
  assert.equal(halfView.bad, 0);
  assert.ok(halfView.unchecked > 0);
  const script = `set -u
integritysetup open /dev/vda done && echo "RESULT done $(dd if=/dev/mapper/done bs=64k iflag=direct status=none | sha256sum | cut -d' ' -f1) $(dmsetup status done | cut -d' ' -f4)"; integritysetup close done
integritysetup open /dev/vdb half || echo "OPENFAIL half"
i=0; while [ $i -lt 120 ]; do st=$(dmsetup status half | cut -d' ' -f6); [ "$st" = "$(dmsetup status half | cut -d' ' -f5)" ] && break; sleep 1; i=$((i+1)); done
echo "RESULT half $(dd if=/dev/mapper/half bs=64k iflag=direct status=none | sha256sum | cut -d' ' -f1) $(dmsetup status half | cut -d' ' -f4,6)"; integritysetup close half
`;
  const r = runOracle(script, [done, half], { timeoutSec: 300 });
  const lines = r.stdout.split('\n');
  t.diagnostic(lines.filter((l) => l.startsWith('RESULT')).join(' | '));
  const res = (n: string) =>
    lines
      .find((l) => l.startsWith(`RESULT ${n} `))
      ?.trim()
      .split(/\s+/)
      .slice(2);
  assert.deepEqual(res('done'), [ours.sha, '0'], 'the kernel reads our recalculated volume with 0 mismatches');
  const sb = readSuperblock(FileDevice.open(half, { readOnly: true }));
  assert.deepEqual(res('half'), [halfView.sha, '0', String(sb.provided_data_sectors)], `the kernel continued from ${halfAt} to the end`);
  assert.equal(sb.recalc_sector, sb.provided_data_sectors);
  const after = view(half);
  assert.equal(after.bad, 0);
  assert.equal(after.unchecked, 0);
  assert.equal(after.sha, halfView.sha);
  fs.rmSync(dir, { recursive: true, force: true });
});
