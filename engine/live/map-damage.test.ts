// What a live scrub's bad blocks hold, read through the device as the kernel serves it: a bad block cannot be read
// there (EILSEQ), so the reads here fail for the bad sectors exactly as the kernel's would. The answers are checked
// against debugfs on the same ext4 image, and against the offline mapping of the same sectors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { kernelDeviceSource, mapLiveDamage } from './map-damage.js';
import { resumeLiveScrubState, writeLiveScrubState } from './scrub-state.js';
import { mapBadSectors } from '../fsmap/index.js';
import { openImageSource } from '../fsmap/source.js';
import { debugfs, tmpDir, toolMissing } from '../../testing/fsmap-tools.js';
import { mkfsExt4 } from '../../testing/fsmap-fixtures.js';

/** fs.readSync as the kernel's mapped device answers it: EILSEQ when the read covers a bad sector */
function kernelLike(bad: ReadonlyArray<readonly [number, number]>) {
  return (fd: number, buf: Buffer, pos: number): number => {
    const first = pos / 512,
      end = first + Math.ceil(buf.length / 512);
    if (bad.some(([a, b]) => a < end && b > first)) throw Object.assign(new Error('EILSEQ: illegal byte sequence, read'), { code: 'EILSEQ' });
    return fs.readSync(fd, buf, 0, buf.length, pos);
  };
}

test('a read over a bad sector is narrowed to that sector: zeros there, the others read, the sector named', () => {
  const dir = tmpDir('live-map-');
  try {
    const img = path.join(dir, 'dev.img');
    const data = Buffer.alloc(64 * 512);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7 + 3) & 0xff;
    fs.writeFileSync(img, data);
    const src = kernelDeviceSource(img, 64, {
      read: kernelLike([
        [10, 11],
        [12, 14],
      ]),
    });
    try {
      const out = Buffer.alloc(16 * 512, 0xee);
      assert.deepEqual(src.read(8, 16, out), [
        [10, 11],
        [12, 14],
      ]);
      assert.ok(
        out.subarray(2 * 512, 3 * 512).every((b) => b === 0),
        'a bad sector reads as zeros',
      );
      assert.deepEqual(out.subarray(0, 2 * 512), data.subarray(8 * 512, 10 * 512));
      assert.deepEqual(out.subarray(3 * 512, 4 * 512), data.subarray(11 * 512, 12 * 512));
      assert.deepEqual(out.subarray(6 * 512), data.subarray(14 * 512, 24 * 512));
      assert.equal(src.read(0, 8, out), null, 'a read of good sectors is whole');
      assert.throws(() => src.read(60, 8, out), /outside the device \(64 sectors\)/);
    } finally {
      src.close();
    }
    // any other error is not a bad block: it is thrown as it is
    const broken = kernelDeviceSource(img, 64, {
      read: () => {
        throw Object.assign(new Error('EBADF'), { code: 'EBADF' });
      },
    });
    try {
      assert.throws(() => broken.read(0, 1, Buffer.alloc(512)), /EBADF/);
    } finally {
      broken.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("a live scrub's bad blocks, mapped through the device: the file and its bytes as debugfs says; the damaged directory block named, not guessed", (t) => {
  const missing = toolMissing('mkfs.ext4', 'debugfs');
  if (missing) {
    t.skip(missing);
    return;
  }
  const dir = tmpDir('live-map-');
  const prev = process.env.INTEGRITY_STUDIO_STATE_DIR;
  process.env.INTEGRITY_STUDIO_STATE_DIR = path.join(dir, 'state');
  try {
    const tree = path.join(dir, 'tree');
    fs.mkdirSync(path.join(tree, 'docs'), { recursive: true });
    fs.writeFileSync(path.join(tree, 'docs', 'report.bin'), Buffer.alloc(40960, 0x5a));
    fs.writeFileSync(path.join(tree, 'other.txt'), 'x'.repeat(5000));
    const img = path.join(dir, 'ext4.img');
    mkfsExt4(img, tree, 16, ['-b', '4096']);
    // the file's third block, and the block of the directory docs/ (debugfs says where they are)
    // (debugfs -f echoes each command as "debugfs: …" before its answer)
    const answer = (cmd: string) =>
      debugfs(img, [cmd])
        .split('\n')
        .filter((l) => l && !l.startsWith('debugfs:'))
        .join(' ')
        .trim();
    const blocks = answer('blocks /docs/report.bin').split(/\s+/).map(Number);
    const fileBlock = blocks[2]!;
    const dirBlock = Number(answer('blocks /docs').split(/\s+/)[0]);
    assert.ok(Number.isSafeInteger(fileBlock) && Number.isSafeInteger(dirBlock) && dirBlock > 0, `debugfs gave blocks ${blocks} and ${dirBlock}`);
    const bad: Array<[number, number]> = [
      [fileBlock * 8 + 1, fileBlock * 8 + 2],
      [dirBlock * 8, dirBlock * 8 + 8],
    ];
    const sectors = fs.statSync(img).size / 512;
    const st = resumeLiveScrubState({ name: 'ex', device: img, identity: 'test', verified_by: 'dm-integrity', total_sectors: sectors, block_sectors: 8 });
    writeLiveScrubState({ ...st, state: 'done', position_sector: sectors, bad_blocks: 2, bad_ranges: bad });

    const live = mapLiveDamage('ex', { mounted: true, read: kernelLike(bad) });
    assert.equal(live.device, img);
    assert.equal(live.result.fs, 'ext4');
    assert.equal(live.result.bad_sectors, 9);
    assert.match(live.result.may_be_stale ?? '', /mounted/, 'a mounted file system: the answer may be stale, and says so');
    const file = live.result.items.find((i) => i.kind === 'file');
    assert.ok(file && file.kind === 'file', JSON.stringify(live.result.items));
    assert.deepEqual(file.byte_ranges, [[2 * 4096 + 512, 2 * 4096 + 1024]], 'the second sector of its third block');
    // debugfs names the same inode for that block, and the same path for that inode
    assert.equal(answer(`icheck ${fileBlock}`).split(/\s+/).at(-1), String(file.inode));
    // its directory's block is one of the bad ones: through the kernel it cannot be read, so no path is claimed
    assert.deepEqual(file.paths, [], file.paths.join(','));
    assert.match(file.path_error ?? '', /directory inode \d+ is itself damaged \(sector \d+ cannot be read\)/);
    // the directory block is metadata the kernel would not give us: named as the directory it is
    const meta = live.result.items.find((i) => i.kind === 'metadata');
    assert.ok(meta, JSON.stringify(live.result.items.map((i) => i.kind)));

    // the same sectors mapped offline (the stored bytes read without verification) name the same file and bytes
    const off = openImageSource(img);
    try {
      const o = mapBadSectors(off, bad);
      const of = o.items.find((i) => i.kind === 'file');
      assert.ok(of && of.kind === 'file');
      assert.equal(of.inode, file.inode);
      assert.deepEqual(of.byte_ranges, file.byte_ranges);
      // offline the stored bytes of the directory block are read unverified, so its names are there (and the answer
      // says it rests on a damaged block)
      assert.ok(of.paths.includes('/docs/report.bin'), of.paths.join(','));
    } finally {
      off.close();
    }
  } finally {
    if (prev === undefined) delete process.env.INTEGRITY_STUDIO_STATE_DIR;
    else process.env.INTEGRITY_STUDIO_STATE_DIR = prev;
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('no live scrub saved for a device: one clear error', () => {
  const dir = tmpDir('live-map-');
  const prev = process.env.INTEGRITY_STUDIO_STATE_DIR;
  process.env.INTEGRITY_STUDIO_STATE_DIR = dir;
  try {
    assert.throws(() => mapLiveDamage('nothing-here'), /no live scrub of nothing-here has run here, so no damage is known/);
  } finally {
    if (prev === undefined) delete process.env.INTEGRITY_STUDIO_STATE_DIR;
    else process.env.INTEGRITY_STUDIO_STATE_DIR = prev;
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
