// Bad input: a corrupted superblock, a loop in the directory tree, an extent pointing past the end, random damage
// to metadata, no file system at all — always an answer for every bad sector ("could not map: …" where nothing
// better can be said), never an exception or a hang.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { bufferSource, checkFree, mapBadSectors, openImageSource, type FsMapResult, type SectorRange } from './index.js';
import { RangeSet } from './ranges.js';
import { debugfs, pseudoRandom, run, tmpDir, toolMissing, xfsDb } from '../../testing/fsmap-tools.js';
import { nth } from '../../testing/must.js';

const noExt4 = toolMissing('mkfs.ext4', 'debugfs');
const noXfs = toolMissing('mkfs.xfs', 'xfs_db');

/** every bad sector is in some item, and nothing else is */
function assertCovers(r: FsMapResult, bad: SectorRange[]): void {
  const want = RangeSet.from(bad);
  const got = RangeSet.fromPairs(r.items.flatMap((i) => i.ranges.map(([a, b]) => [a, b] as [number, number])));
  assert.deepEqual(got.pairs(), want.pairs());
  assert.equal(r.bad_sectors, want.total);
}

function patch(img: string, pos: number, bytes: Buffer): void {
  const fd = fs.openSync(img, 'r+');
  fs.writeSync(fd, bytes, 0, bytes.length, pos);
  fs.closeSync(fd);
}

function mapImage(img: string, bad: SectorRange[]): FsMapResult {
  const src = openImageSource(img);
  try {
    return mapBadSectors(src, bad);
  } finally {
    src.close();
  }
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};

describe('fsmap bad input', () => {
  let dir: string;
  before(() => {
    dir = tmpDir('fsmap-bad-');
    fs.mkdirSync(path.join(dir, 'tree/x/y'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'tree/x/y/file'), pseudoRandom(64 * 1024, 3));
    fs.writeFileSync(path.join(dir, 'tree/x/y/back'), 'b');
    fs.writeFileSync(path.join(dir, 'tree/big'), pseudoRandom(256 * 1024, 4));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const ext4 = (name: string): string => {
    const img = path.join(dir, `${name}.img`);
    run('mkfs.ext4', ['-q', '-F', '-b', '1024', '-O', '^inline_data', '-d', path.join(dir, 'tree'), img, '8M']);
    return img;
  };
  const firstBlock = (img: string, file: string) => Number(/\((?:0|0-\d+)\):(\d+)/.exec(debugfs(img, [`stat ${file}`]))![1]!);
  const inodeOf = (img: string, file: string) => Number(/Inode: (\d+)/.exec(debugfs(img, [`stat ${file}`]))![1]!);

  it('no file system, random bytes, a btrfs signature: every sector says why', () => {
    const zero = Buffer.alloc(1 << 20);
    const bad: SectorRange[] = [
      [0, 8],
      [100, 101],
      [2000, 2048],
    ];
    let r = mapBadSectors(bufferSource(zero), bad);
    assert.equal(r.fs, null);
    assert.ok(r.items.every((i) => i.kind === 'unmapped' && /^could not map: no known file system \(found: nothing recognisable\)/.test(i.reason)));
    assertCovers(r, bad);
    r = mapBadSectors(bufferSource(pseudoRandom(1 << 20, 9)), bad);
    assert.equal(r.fs, null);
    assertCovers(r, bad);
    const swap = Buffer.alloc(1 << 20);
    swap.write('SWAPSPACE2', 4096 - 10, 'latin1');
    r = mapBadSectors(bufferSource(swap), bad);
    assert.match((r.items[0] as { reason: string }).reason, /no known file system \(found: a swap area\)/);
    const btrfs = Buffer.alloc(1 << 20);
    btrfs.write('_BHRfS_M', 65600, 'latin1');
    r = mapBadSectors(bufferSource(btrfs), bad);
    assert.equal(r.fs, 'btrfs');
    assert.ok(r.items.every((i) => i.kind === 'unmapped' && /btrfs is not supported: its chunk tree/.test(i.reason)));
    assertCovers(r, bad);
    assert.deepEqual(checkFree(bufferSource(btrfs), bad).free, []);
  });

  it("invalid ranges are refused (the caller's mistake), not mapped", () => {
    const src = bufferSource(Buffer.alloc(1 << 16));
    assert.throws(() => mapBadSectors(src, [[5, 5]]), /invalid bad sector range/);
    assert.throws(() => mapBadSectors(src, [[0, 1000]]), /past the end of the volume/);
  });

  it('ext4: a corrupted superblock', { skip: noExt4 }, () => {
    const img = ext4('sb');
    patch(img, 1024 + 0x28, u32(0)); // s_inodes_per_group = 0
    const bad: SectorRange[] = [
      [2, 4],
      [400, 402],
      [9000, 9010],
    ];
    const r = mapImage(img, bad);
    assert.equal(r.fs, 'ext4');
    assert.ok(
      r.items.every((i) => i.kind === 'unmapped' && /^could not map: the ext4 superblock is corrupted: inodes per group 0/.test(i.reason)),
      JSON.stringify(r.items),
    );
    assertCovers(r, bad);
  });

  it('ext4: a loop in the directory tree ends with a reason', { skip: noExt4, timeout: 60_000 }, () => {
    const img = ext4('loop');
    const x = inodeOf(img, '/x');
    const y = inodeOf(img, '/x/y');
    // y gets an entry naming x, and x's '..' is made y: x → y → x …
    debugfs(img, ['link /x /x/y/loopback'], true);
    const xBlock = firstBlock(img, '/x');
    const fb = firstBlock(img, '/x/y/file');
    patch(img, xBlock * 1024 + 12, u32(y)); // struct ext4_dir_entry_2 '..' follows '.' (rec_len 12)
    const r = mapImage(img, [[fb * 2, fb * 2 + 2]]);
    const it = nth(r.items, 0, 'item');
    assert.ok(it.kind === 'file', JSON.stringify(it));
    assert.match(it.path_error ?? '', /a loop in the directory tree \(directory inode (\d+) is its own ancestor\)/);
    assert.ok([x, y].includes(Number(/inode (\d+) is its own/.exec(it.path_error!)![1]!)));
    assert.deepEqual(it.byte_ranges, [[0, 1024]]);
  });

  it('ext4: an extent pointing past the end: its blocks say so', { skip: noExt4 }, () => {
    const img = ext4('extent');
    const fb = firstBlock(img, '/big');
    const ino = inodeOf(img, '/big');
    const imap = debugfs(img, [`imap <${ino}>`]);
    const blk = Number(/located at block (\d+)/.exec(imap)![1]!);
    const off = parseInt(/offset (0x[0-9a-f]+)/.exec(imap)![1]!, 16);
    // i_block at 0x28: the extent header (12 bytes), then the first struct ext4_extent: ee_start_lo at +8
    patch(img, blk * 1024 + off + 0x28 + 12 + 8, u32(0x7ffffff0));
    const r = mapImage(img, [
      [fb * 2, fb * 2 + 2],
      [(fb + 3) * 2, (fb + 3) * 2 + 1],
    ]);
    assert.equal(r.items.length, 1, JSON.stringify(r.items));
    const it = nth(r.items, 0, 'item');
    assert.ok(it.kind === 'unmapped');
    assert.match(
      it.reason,
      /^could not map: in use per the block bitmap, but no inode's block map names it; 1 part\(s\) .*an extent of inode \d+ .* points past the end of the file system \(block 2147483632/,
    );
    assertCovers(r, [
      [fb * 2, fb * 2 + 2],
      [(fb + 3) * 2, (fb + 3) * 2 + 1],
    ]);
  });

  it('ext4: random damage to the metadata never throws or hangs, and every sector gets an answer', { skip: noExt4, timeout: 120_000 }, () => {
    const clean = ext4('fuzz');
    const bytes = fs.readFileSync(clean);
    for (let round = 0; round < 25; round++) {
      const b = Buffer.from(bytes);
      const rnd = pseudoRandom(4096, 100 + round);
      // 300 random bytes in the first 600 KiB (superblock, descriptors, bitmaps, inode tables, directories)
      for (let k = 0; k < 300; k++) b[rnd.readUInt32LE(k * 4) % (600 << 10)] = rnd.readUInt8(k + 2048);
      const src = bufferSource(b, `fuzz-${round}`);
      const bad: SectorRange[] = [
        [0, 4],
        [rnd.readUInt16LE(3000) % 16000, (rnd.readUInt16LE(3000) % 16000) + 9],
        [src.sectors - 64, src.sectors],
      ];
      const r = mapBadSectors(src, bad);
      assertCovers(r, bad);
      checkFree(src, bad);
    }
  });

  const xfsProto = (name: string, mkfsArgs = ''): string => {
    const img = path.join(dir, `${name}.img`);
    const proto = path.join(dir, `${name}.proto`);
    const t = path.join(dir, 'tree');
    fs.writeFileSync(
      proto,
      [
        '/dev/null',
        '0 0',
        'd--755 0 0',
        `big ---644 0 0 ${t}/big`,
        'x d--755 0 0',
        'y d--755 0 0',
        `file ---644 0 0 ${t}/x/y/file`,
        `back ---644 0 0 ${t}/x/y/back`,
        '$',
        '$',
        '$',
        '',
      ].join('\n'),
    );
    fs.writeFileSync(img, '');
    fs.truncateSync(img, 64 << 20);
    const r = run('sh', ['-c', `TEST_DIR=/tmp TEST_DEV=/dev/null QA_CHECK_FS=xfs mkfs.xfs -q -f ${mkfsArgs} -p ${proto} ${img}`]);
    void r;
    return img;
  };
  const xfsIno = (img: string, p: string) => Number(new RegExp(`^\\s*(\\d+) ${p}(/\\.)?$`, 'm').exec(xfsDb(img, ['blockget -n', 'ncheck']))![1]!);
  const xfsFirstLin = (img: string, ino: number) => {
    const t = xfsDb(img, [`inode ${ino}`, 'bmap']);
    const m = /startblock (\d+) \((\d+)\/(\d+)\)/.exec(t)!;
    const agblocks = Number(/agblocks = (\d+)/.exec(xfsDb(img, ['sb 0', 'p agblocks']))![1]!);
    return Number(m[2]) * agblocks + Number(m[3]);
  };

  it('xfs: a corrupted superblock', { skip: noXfs }, () => {
    const img = xfsProto('xsb');
    const b = Buffer.alloc(4);
    b.writeUInt32BE(0);
    patch(img, 88, b); // sb_agcount = 0
    const bad: SectorRange[] = [
      [0, 1],
      [5000, 5008],
    ];
    const r = mapImage(img, bad);
    assert.equal(r.fs, 'xfs');
    assert.ok(
      r.items.every((i) => i.kind === 'unmapped' && /^could not map: the XFS superblock is corrupted: AG geometry/.test(i.reason)),
      JSON.stringify(r.items),
    );
    assertCovers(r, bad);
  });

  it('xfs: a loop in the directory tree and an extent pointing outside the file system', { skip: noXfs, timeout: 60_000 }, () => {
    const img = xfsProto('xloop');
    const x = xfsIno(img, 'x');
    const y = xfsIno(img, 'x/y');
    const file = xfsIno(img, 'x/y/file');
    const big = xfsIno(img, 'big');
    const fileLin = xfsFirstLin(img, file);
    const bigLin = xfsFirstLin(img, big);
    // y's second entry ('back' … in name order: back, file) names x, and x's parent is made y; big's extent moved away
    const entry = Number(/list\[(\d+)\]\.name = "back"/.exec(xfsDb(img, [`inode ${y}`, 'p u3']))![1]!);
    xfsDb(
      img,
      [
        `inode ${y}`,
        `write u3.sfdir3.list[${entry}].inumber.i4 ${x}`,
        `inode ${x}`,
        `write u3.sfdir3.hdr.parent.i4 ${y}`,
        `inode ${big}`,
        'write u3.bmx[0].startblock 4000000000',
      ],
      true,
    );
    const r = mapImage(img, [
      [fileLin * 8, fileLin * 8 + 1],
      [bigLin * 8, bigLin * 8 + 8],
    ]);
    const f = r.items.find((i) => i.kind === 'file');
    assert.ok(f?.kind === 'file', JSON.stringify(r.items));
    assert.match(f.path_error ?? '', /a loop in the directory tree/);
    const u = r.items.find((i) => i.kind === 'unmapped');
    assert.ok(u?.kind === 'unmapped', JSON.stringify(r.items));
    assert.match(
      u.reason,
      /^could not map: in use per the free-space btree, but no inode's block map or AG structure names it; .*points outside the file system/,
    );
  });

  it('xfs: random damage to the metadata never throws or hangs (scan and rmapbt look-ups)', { skip: noXfs, timeout: 120_000 }, () => {
    const images = [fs.readFileSync(xfsProto('xfuzz')), fs.readFileSync(xfsProto('xfuzz-rmap', '-m rmapbt=1'))];
    for (let round = 0; round < 40; round++) {
      const bytes = nth(images, round % 2, 'prototype image');
      const b = Buffer.from(bytes);
      const rnd = pseudoRandom(4096, 200 + round);
      // AG 0's headers and btree blocks, its first inode chunk
      for (let k = 0; k < 200; k++) {
        const pos = rnd.readUInt32LE(k * 4) % (256 << 10);
        if (pos >= 512) b[pos] = rnd.readUInt8(k + 2048); // keep the magic and geometry: get past the superblock checks
      }
      const src = bufferSource(b, `xfuzz-${round}`);
      const bad: SectorRange[] = [
        [1, 8],
        [rnd.readUInt16LE(3000) % 100000, (rnd.readUInt16LE(3000) % 100000) + 9],
        [src.sectors - 64, src.sectors],
      ];
      const r = mapBadSectors(src, bad);
      assertCovers(r, bad);
      checkFree(src, bad);
    }
  });
});
