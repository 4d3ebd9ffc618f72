// A wiping format checks free space first: on a file system too small for the wipe it refuses before writing a
// byte (it used to write until the file system was full, leaving half a volume), and a new image is not left
// behind. Needs a small file system of its own: a tmpfs mounted here (root), else skipped with the reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { tmpDir } from '../../testing/golden.js';
import { formatVolume } from './format.js';
import { skipUnless } from '../../testing/unavailable.js';

function smallFs(): { dir: string; done(): void } | string {
  if (process.getuid?.() !== 0) return 'needs root to mount a small tmpfs';
  const dir = tmpDir('format-space-');
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', dir], { encoding: 'utf8' });
  if (m.status !== 0) return `mount -t tmpfs failed: ${m.stderr.trim()}`;
  return { dir, done: () => void spawnSync('umount', [dir]) };
}

test('a wipe that cannot fit is refused before the first byte, naming the space needed and free; --no-wipe still formats', (t) => {
  const f = smallFs();
  if (typeof f === 'string') {
    skipUnless(t, f);
    return;
  }
  try {
    const img = path.join(f.dir, 'big.img');
    assert.throws(
      () => formatVolume(img, { size: 64 << 20 }),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, 'ENOSPC');
        assert.match(
          e.message,
          /^not enough free space to wipe .*big\.img: the wipe writes every block, 64\.0 MiB of which the file does not hold yet, and its file system has 1[0-9]\.\d MiB free/,
        );
        return true;
      },
    );
    assert.equal(fs.existsSync(img), false, 'the new image is not left behind');
    // an existing sparse file: the same refusal, and not one byte written into it
    const sparse = path.join(f.dir, 'sparse.img');
    fs.writeFileSync(sparse, '');
    fs.truncateSync(sparse, 64 << 20);
    assert.throws(() => formatVolume(sparse, { force: true }), { code: 'ENOSPC' });
    assert.equal(fs.statSync(sparse).blocks, 0);
    // without the wipe only the superblock and journal are written
    const r = formatVolume(sparse, { force: true, noWipe: true });
    assert.equal(r.wiped, false);
  } finally {
    f.done();
  }
});
