// format on a real block device (a loop device over a small image): a device held by another opener
// (O_EXCL, as a mount or a dm table holds it) is refused with nothing written; a free one is formatted
// and its size found through sysfs. Skipped where loop devices cannot be set up (not root, no losetup).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { tmpDir, sha256File } from '../../testing/golden.js';
import { formatVolume } from './format.js';
import { openVolume } from '../volume.js';
import { SECTOR_SIZE } from '../layout/superblock.js';
import { skipUnless } from '../../testing/unavailable.js';

function loopUnavailable(): string | null {
  if (process.getuid && process.getuid() !== 0) return 'needs root';
  if (spawnSync('sh', ['-c', 'command -v losetup']).status !== 0) return 'losetup not installed';
  if (!fs.existsSync('/dev/loop-control')) return 'no /dev/loop-control';
  return null;
}

test('block device: held (O_EXCL) → refused, nothing written; free → formatted, size from sysfs', (t) => {
  if (skipUnless(t, loopUnavailable())) return;
  const dir = tmpDir('format-loop-');
  const img = path.join(dir, 'loop.img');
  fs.writeFileSync(img, Buffer.alloc(2 << 20));
  const a = spawnSync('losetup', ['--find', '--show', img], { encoding: 'utf8' });
  if (a.status !== 0 && skipUnless(t, `losetup failed: ${a.stderr.trim()}`)) return;
  const dev = a.stdout.trim();
  try {
    const before = sha256File(img);
    const held = fs.openSync(dev, fs.constants.O_RDONLY | fs.constants.O_EXCL);
    try {
      assert.throws(() => formatVolume(dev, { force: true }), /device is in use \(mounted or held by another program\)/);
    } finally {
      fs.closeSync(held);
    }
    assert.equal(sha256File(img), before, 'nothing written to a held device');
    const r = formatVolume(dev, {});
    const vol = openVolume(dev, { readOnly: true });
    assert.equal(vol.sb.provided_data_sectors, r.plan.superblock.provided_data_sectors);
    assert.equal(vol.meta.size, 2 << 20);
    assert.equal(
      vol.target.verify(0, vol.sb.provided_data_sectors, () => {}),
      0,
    );
    vol.close();
    assert.ok(r.plan.superblock.provided_data_sectors * SECTOR_SIZE < 2 << 20);
  } finally {
    spawnSync('losetup', ['-d', dev]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
