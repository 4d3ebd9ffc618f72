// The mapper through our own volumes: an ext4 image written into a dm-integrity volume (formatVolume, then the
// engine's write path), tags corrupted under chosen blocks, the engine's verify finding them, and those ranges
// mapped through the volume (unverified reads) — the same answers as on the plain image, and debugfs's. And a
// LUKS2 authenticated volume, whose failing sectors have no plaintext: a structure there is "itself damaged".
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { formatVolume } from '../commands/format.js';
import { openWritable } from '../integrity/writable.js';
import { openVolume } from '../volume.js';
import { tagOffset, dataSector } from '../layout/geometry.js';
import { formatCryptVolume } from '../crypt/format.js';
import { openCryptVolume, segmentFromLuks } from '../crypt/volume.js';
import { readLuks2Header, unlockLuks2 } from '../luks/index.js';
import { cryptSource, mapBadSectors, openImageSource, volumeSource, type FsMapResult, type SectorRange } from './index.js';
import { debugfs, dumpe2fsField, icheck, pseudoRandom, run, testb, tmpDir, toolMissing } from '../../testing/fsmap-tools.js';
import { nth } from '../../testing/must.js';

const skip = toolMissing('mkfs.ext4', 'debugfs', 'dumpe2fs');

/** the result without what depends on how it was read (timings, blocks read) */
function answers(r: FsMapResult) {
  return { ...r, stats: null, relied_on_damaged: null };
}

function makeTree(dir: string): void {
  fs.mkdirSync(path.join(dir, 'docs/old'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'docs/report.bin'), pseudoRandom(200 * 1024, 5));
  fs.linkSync(path.join(dir, 'docs/report.bin'), path.join(dir, 'docs/old/report-link.bin'));
  for (let i = 0; i < 40; i++) fs.writeFileSync(path.join(dir, 'docs', `note-${i}.txt`), `note ${i}\n`.repeat(300));
}

/** the first data block of a file per debugfs */
function firstBlockOf(img: string, file: string): number {
  const m = /\((?:0|0-\d+)\):(\d+)/.exec(debugfs(img, [`stat ${file}`]));
  assert.ok(m, `blocks of ${file}`);
  return Number(m[1]);
}

describe('fsmap through a dm-integrity volume and a LUKS2 volume', { skip }, () => {
  let dir: string;
  before(() => {
    dir = tmpDir('fsmap-vol-');
    fs.mkdirSync(path.join(dir, 'tree'));
    makeTree(path.join(dir, 'tree'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('tags corrupted under a file, a directory, an inode table and free space: verify finds them, the mapper names them as on the plain image and as debugfs', () => {
    const vol = path.join(dir, 'v.img');
    formatVolume(vol, { size: 48 << 20 });
    const w0 = openVolume(vol, { readOnly: true });
    const sectors = w0.geometry.provided_data_sectors;
    w0.close();
    // the file system the size of the volume, written through the engine's write path
    const fsimg = path.join(dir, 'fs.img');
    run('mkfs.ext4', ['-q', '-F', '-b', '4096', '-d', path.join(dir, 'tree'), fsimg, `${Math.floor((sectors * 512) / 4096) * 4}k`]);
    const bytes = fs.readFileSync(fsimg);
    const w = openWritable(vol, {});
    try {
      for (let off = 0; off < bytes.length; off += 1 << 20) w.write(off, bytes.subarray(off, Math.min(bytes.length, off + (1 << 20))));
      w.flush();
    } finally {
      w.close();
    }
    // blocks to corrupt: file data, a directory, the first inode-table block, a free block
    const fileBlk = firstBlockOf(fsimg, '/docs/report.bin');
    const dirBlk = firstBlockOf(fsimg, '/docs');
    const itable = Number(/Inode table at (\d+)/.exec(run('dumpe2fs', [fsimg], { allowFail: true }))![1]!);
    const blocks = Number(dumpe2fsField(fsimg, 'Block count'));
    const freeBlk = [...testb(fsimg, [blocks - 10, blocks - 20, blocks - 30])].find(([, used]) => !used)![0];
    const chosen = [fileBlk, dirBlk, itable, freeBlk];
    const fd = fs.openSync(vol, 'r+');
    const v = openVolume(vol, { readOnly: true });
    const g = v.geometry;
    v.close();
    for (const b of chosen) {
      // 4 KiB fs block = 8 sectors; the volume's blocks are 512 bytes: spoil the tag of the fs block's third sector
      const s = b * 8 + 2;
      const at = tagOffset(g, s);
      const t = Buffer.alloc(1);
      fs.readSync(fd, t, 0, 1, at);
      t[0]! ^= 0x5a;
      fs.writeSync(fd, t, 0, 1, at);
    }
    fs.closeSync(fd);
    // the engine's verify finds exactly those sectors
    const ro = openVolume(vol, { readOnly: true });
    let bad: SectorRange[] = [];
    try {
      ro.target.verify(0, ro.geometry.provided_data_sectors, (s) => bad.push([s, s + ro.geometry.sectors_per_block]));
      assert.deepEqual(
        bad.map(([s]) => s).sort((a, b) => a - b),
        chosen.map((b) => b * 8 + 2).sort((a, b) => a - b),
      );
      const through = mapBadSectors(volumeSource(ro), bad);
      const img = openImageSource(fsimg);
      const plain = mapBadSectors(img, bad);
      img.close();
      assert.deepEqual(answers(through), answers(plain));
      // and as debugfs says
      const owners = icheck(fsimg, chosen);
      const at = (b: number) => through.items.filter((i) => i.ranges.some(([x, y]) => b * 8 + 2 >= x && b * 8 + 2 < y));
      const f = nth(at(fileBlk), 0, `item at block ${fileBlk}`);
      assert.ok(f.kind === 'file' && f.inode === owners.get(fileBlk));
      assert.deepEqual([...f.paths].sort(), ['/docs/old/report-link.bin', '/docs/report.bin']);
      assert.deepEqual(f.byte_ranges, [[1024, 1536]]);
      const d = nth(at(dirBlk), 0, `item at block ${dirBlk}`);
      assert.ok(d.kind === 'metadata' && d.structure === 'ext4.directory' && d.owner?.inode === owners.get(dirBlk));
      assert.deepEqual(d.owner?.paths, ['/docs']);
      assert.ok(d.names?.includes('report.bin') && d.names.includes('note-7.txt'));
      const it = nth(at(itable), 0, `item at block ${itable}`);
      assert.ok(it.kind === 'metadata' && it.structure === 'ext4.inode_table' && it.group === 0);
      assert.equal(nth(at(freeBlk), 0, `item at block ${freeBlk}`).kind, 'free');
      assert.equal(through.files_damaged, 1);
      bad = [];
    } finally {
      ro.close();
    }
  });

  it('LUKS2: a structure in a sector failing authentication is itself damaged, and what needs it says so', async () => {
    const vol = path.join(dir, 'luks.img');
    const pw = path.join(dir, 'pw');
    fs.writeFileSync(pw, 'fsmap-pass');
    fs.writeFileSync(vol, '');
    fs.truncateSync(vol, 40 << 20);
    await formatCryptVolume(vol, {
      secret: { keyFile: pw },
      integrity: 'poly1305',
      cipher: 'chacha20-random',
      keySize: 256,
      pbkdf: 'pbkdf2',
      pbkdfIterations: 1000,
    });
    const seg = segmentFromLuks(readLuks2Header(vol));
    const { volumeKey } = await unlockLuks2(vol, { keyFile: pw });
    const cw = openCryptVolume(vol, seg, volumeKey, { readOnly: false });
    const fsimg = path.join(dir, 'luks-fs.img');
    run('mkfs.ext4', ['-q', '-F', '-b', '4096', '-d', path.join(dir, 'tree'), fsimg, `${Math.floor(cw.size / 4096) * 4}k`]);
    const bytes = fs.readFileSync(fsimg);
    try {
      cw.write(0, bytes);
      cw.flush();
    } finally {
      cw.close();
    }
    const fileBlk = firstBlockOf(fsimg, '/docs/report.bin');
    const ino = icheck(fsimg, [fileBlk]).get(fileBlk)!;
    // the inode-table block holding the file's inode (debugfs imap): spoil its ciphertext (every one of its sectors)
    const itable = Number(/located at block (\d+)/.exec(debugfs(fsimg, [`imap <${ino}>`]))![1]!);
    const v = openCryptVolume(vol, seg, volumeKey);
    const g = v.integrity.geometry;
    v.close();
    const fd = fs.openSync(vol, 'r+');
    for (let s = itable * 8; s < itable * 8 + 8; s++) {
      const at = seg.offset + dataSector(g, s) * 512 + 7;
      const b = Buffer.alloc(1);
      fs.readSync(fd, b, 0, 1, at);
      b[0]! ^= 0xff;
      fs.writeSync(fd, b, 0, 1, at);
    }
    fs.closeSync(fd);
    const cv = openCryptVolume(vol, seg, volumeKey);
    try {
      const bad: SectorRange[] = [];
      cv.read(0, cv.sectors, null, 0, (s) => bad.push([s, s + cv.spb]));
      assert.equal(bad.length, 8);
      bad.push([fileBlk * 8, fileBlk * 8 + 8]);
      const r = mapBadSectors(cryptSource(cv), bad);
      const it = r.items.find((i) => i.ranges.some(([x]) => x === itable * 8));
      assert.ok(it?.kind === 'metadata' && it.structure === 'ext4.inode_table');
      const f = r.items.find((i) => i.ranges.some(([x]) => x === fileBlk * 8));
      assert.ok(f?.kind === 'unmapped', JSON.stringify(f));
      assert.match(f.reason, /^could not map: .*itself damaged/);
      if (process.env.FSMAP_SHOW) console.log(f.reason);
    } finally {
      cv.close();
    }
  });
});
