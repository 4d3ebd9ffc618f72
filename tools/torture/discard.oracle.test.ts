// The kernel's answer to the journal-mode lost-discard finding of the crash torture (tools/torture/crash.ts):
// in each release the oracle boots, a journal-mode volume opened with allow_discards gets a block written and
// flushed (committed to the journal), then discarded and flushed; the disk is copied as a power loss would leave it
// (the oracle's disks are writethrough), then the volume is closed cleanly. The copy is opened (replay_journal)
// by the kernel on a second copy, and by us on a third. Seen: after the clean close the block keeps its discard
// filler tags; after the power loss the kernel's replay re-applies the write the discard followed (valid tags,
// the discard undone), and our replay leaves the same bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { tmpDir } from '../../testing/golden.js';
import { ORACLE_RELEASES, runOracle, skipWithoutOracle } from '../../testing/oracle.js';
import { openVolume } from '../../engine/volume.js';
import { openWritable } from '../../engine/integrity/writable.js';
import { tagOffset } from '../../engine/layout/geometry.js';

const BLOCK_SECTORS = 8; // the 4096-byte write, in the volume's 512-byte sectors
const DISCARDED = 20 * BLOCK_SECTORS; // sector of the written-then-discarded 4 KiB
const KEPT = 10 * BLOCK_SECTORS; // a written block nobody discards

const SCRIPT = `set -e
command -v blkdiscard >/dev/null || { echo "@@no-blkdiscard"; exit 3; }
echo "@@kernel $(uname -r)"
integritysetup format --batch-mode /dev/vda >/dev/null
integritysetup open --allow-discards /dev/vda t
M=/dev/mapper/t
dd if=/dev/zero bs=4096 count=1 2>/dev/null | tr '\\0' 'A' > /tmp/a
dd if=/dev/zero bs=4096 count=1 2>/dev/null | tr '\\0' 'B' > /tmp/b
dd if=/tmp/a of=$M bs=4096 seek=10 count=1 oflag=direct conv=fsync 2>/dev/null
dd if=/tmp/b of=$M bs=4096 seek=20 count=1 oflag=direct conv=fsync 2>/dev/null
blkdiscard -o $((20*4096)) -l 4096 $M
blockdev --flushbufs $M
sync
# the power-loss image, twice: one for the kernel's replay, one for ours
dd if=/dev/vda of=/dev/vdb bs=1M iflag=direct oflag=direct 2>/dev/null
dd if=/dev/vda of=/dev/vdc bs=1M iflag=direct oflag=direct 2>/dev/null
integritysetup close t
integritysetup open --allow-discards /dev/vdb c
echo "@@status $(dmsetup status c)"
integritysetup close c
echo "@@done"
`;

function tagsOf(img: string, sector: number, sectors: number): Buffer {
  const vol = openVolume(img, { readOnly: true, superblockOnly: true });
  try {
    const g = vol.geometry;
    const fd = fs.openSync(img, 'r');
    try {
      const b = Buffer.alloc((sectors / g.sectors_per_block) * g.tag_size);
      fs.readSync(fd, b, 0, b.length, tagOffset(g, sector));
      return b;
    } finally {
      fs.closeSync(fd);
    }
  } finally {
    vol.close();
  }
}

for (const { release, kernel } of ORACLE_RELEASES) {
  test(`journal mode, a flushed discard and a power loss: what Linux ${kernel} (${release}) leaves, and ours`, { timeout: 600_000 }, (t) => {
    if (skipWithoutOracle(t, release)) return;
    const dir = tmpDir();
    const imgs = ['clean', 'kernel-replayed', 'ours-replayed'].map((n) => path.join(dir, `${n}.img`));
    for (const f of imgs) {
      fs.writeFileSync(f, Buffer.alloc(0));
      fs.truncateSync(f, 16 << 20);
    }
    const r = runOracle(SCRIPT, imgs, { release, timeoutSec: 240 });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /@@done/);
    t.diagnostic(
      r.stdout
        .split('\n')
        .filter((l) => l.startsWith('@@kernel'))
        .join(' '),
    );
    const [clean, kernelReplayed, ours] = imgs as [string, string, string];
    const filler = Buffer.alloc(tagsOf(clean, DISCARDED, BLOCK_SECTORS).length, 0xf6);
    // a clean close (dm_integrity_postsuspend re-initialises the journal): the discard stays
    assert.deepEqual(tagsOf(clean, DISCARDED, BLOCK_SECTORS), filler, 'clean close: the discarded block carries filler tags');
    // the power loss, replayed by the kernel: the write the discard followed is back, with valid tags
    const k = tagsOf(kernelReplayed, DISCARDED, BLOCK_SECTORS);
    assert.notDeepEqual(k, filler, `Linux ${kernel} kept the discard after the power loss (the finding would be ours alone)`);
    // our replay of the same power-loss image (openWritable = dm_integrity_resume: replay_journal), then a clean close
    openWritable(ours, { allowDiscards: true }).close();
    assert.deepEqual(tagsOf(ours, DISCARDED, BLOCK_SECTORS), k, "our replay leaves the tags the kernel's leaves");
    assert.deepEqual(tagsOf(ours, KEPT, BLOCK_SECTORS), tagsOf(kernelReplayed, KEPT, BLOCK_SECTORS));
    // and the block reads as the write, verified
    const v = openVolume(ours, { readOnly: true });
    try {
      const out = Buffer.alloc(BLOCK_SECTORS * 512);
      let bad = 0;
      v.target.read(DISCARDED, BLOCK_SECTORS, out, 0, () => {
        bad++;
      });
      assert.equal(bad, 0);
      assert.ok(out.equals(Buffer.alloc(out.length, 'B')), 'the undone discard reads as the write before it');
    } finally {
      v.close();
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
}
