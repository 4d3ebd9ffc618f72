// ext4 mapping checked against e2fsprogs on images mkfs.ext4 made: for EVERY block of each image, what the mapper
// says equals debugfs's icheck (block → inode), testb (in use?) and ncheck (inode → paths); file byte ranges are
// checked against the files' own bytes. 4 KiB and 1 KiB blocks, inline data, ext3-style indirect block maps.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { checkFree, mapBadSectors, openImageSource, type FsMapItem, type FsMapResult, type SectorSource } from './index.js';
import { debugfs, dumpe2fsField, icheck, ncheck, testb, tmpDir, toolMissing } from '../../testing/fsmap-tools.js';
import { buildTree, fragmentExt4, ISLAND, indexDirs, mkfsExt4, SPARSE_ISLANDS } from '../../testing/fsmap-fixtures.js';
import { must, nth } from '../../testing/must.js';
import { dirEntries } from './ext4/ondisk.js';

const skip = toolMissing('mkfs.ext4', 'debugfs', 'e2fsck', 'dumpe2fs');

interface Image {
  img: string;
  bs: number;
  blocks: number;
}

function itemsAt(r: FsMapResult, sector: number): FsMapItem[] {
  return r.items.filter((i) => i.ranges.some(([a, b]) => sector >= a && sector < b));
}

function ownerInodes(i: FsMapItem): number[] {
  if (i.kind === 'file') return [i.inode];
  if (i.kind === 'metadata') return [...(i.owner ? [i.owner.inode] : []), ...(i.structure === 'ext4.xattr' ? (i.inodes ?? []).map((x) => x.inode) : [])];
  return [];
}

/** every block of the image marked bad at once, each answer compared with debugfs */
function compareEveryBlock(im: Image, tree: string): FsMapResult {
  const src = openImageSource(im.img);
  const spb = im.bs / 512;
  // debugfs calls block 0 invalid (on 1 KiB file systems it is outside the file system; on others it is the
  // superblock's, checked below)
  const blocks = Array.from({ length: im.blocks - 1 }, (_, i) => i + 1);
  let r: FsMapResult;
  try {
    r = mapBadSectors(src, [[0, im.blocks * spb]], { maxRanges: 1e9, maxPaths: 100, maxNames: 1e6 });
  } finally {
    (src as SectorSource & { close(): void }).close();
  }
  assert.equal(r.fs, 'ext4');
  assert.equal(r.block_size, im.bs);
  assert.equal(r.unmapped_sectors, 0, JSON.stringify(r.items.filter((i) => i.kind === 'unmapped')));
  assert.deepEqual(
    itemsAt(r, 2).map((i) => i.kind === 'metadata' && i.structure),
    ['ext4.superblock'],
  );
  assert.deepEqual(
    itemsAt(r, 0).map((i) => i.kind === 'metadata' && i.structure),
    ['ext4.boot_area'],
  );
  const owners = icheck(im.img, blocks);
  const used = testb(im.img, blocks);
  assert.equal(owners.size, blocks.length, 'icheck answered for every block');
  assert.equal(used.size, blocks.length, 'testb answered for every block');
  const inodes = new Set<number>();
  let fileBlocks = 0;
  let metaBlocks = 0;
  let freeBlocks = 0;
  for (const b of blocks) {
    const at = itemsAt(r, b * spb);
    assert.ok(at.length > 0, `block ${b}: no item`);
    const owner = owners.get(b)!;
    if (owner !== null) {
      assert.ok(
        at.some((i) => ownerInodes(i).includes(owner)),
        `block ${b}: debugfs icheck says inode ${owner}, we say ${JSON.stringify(at.map((i) => [i.kind, ownerInodes(i)]))}`,
      );
      inodes.add(owner);
      if (at.some((i) => i.kind === 'file')) fileBlocks++;
      else metaBlocks++;
    } else if (used.get(b)) {
      assert.ok(
        at.every((i) => i.kind === 'metadata' && !i.owner),
        `block ${b}: in use, no owner per debugfs; we say ${JSON.stringify(at.map((i) => i.kind))}`,
      );
      metaBlocks++;
    } else {
      assert.deepEqual(
        at.map((i) => i.kind),
        ['free'],
        `block ${b}: free per debugfs testb`,
      );
      freeBlocks++;
    }
  }
  assert.ok(fileBlocks > 0 && metaBlocks > 0 && freeBlocks > 0);
  // every inode's paths, as ncheck gives them
  const named = [...inodes].filter((i) => i >= 11);
  const want = ncheck(im.img, named);
  const got = new Map<number, string[]>();
  for (const i of r.items) {
    if (i.kind === 'file') got.set(i.inode, i.paths);
    if (i.kind === 'metadata' && i.owner && !got.has(i.owner.inode) && i.owner.paths.length) got.set(i.owner.inode, i.owner.paths);
  }
  for (const ino of named) {
    if (!want.has(ino)) continue; // no name (e.g. the orphan file)
    assert.deepEqual([...(got.get(ino) ?? [])].sort(), [...want.get(ino)!].sort(), `paths of inode ${ino}`);
  }
  // the file items' bytes: every bad block's image bytes are the file's bytes at the byte range given
  const img = fs.readFileSync(im.img);
  let checked = 0;
  for (const it of r.items) {
    if (it.kind !== 'file' || it.file_type !== 'regular' || !it.paths.length) continue;
    const p = path.join(tree, nth(it.paths, 0, 'path'));
    if (!fs.existsSync(p)) continue; // written after mkfs (debugfs write)
    let bytes = 0;
    for (const [s, e] of it.byte_ranges) bytes += e - s;
    assert.equal(bytes + it.beyond_eof_bytes + it.unwritten_bytes, it.sectors * 512, `inode ${it.inode}: byte ranges cover its sectors`);
    // the file's bytes at the start of each byte range lie in one of the item's sectors
    const file = fs.readFileSync(p);
    for (const [s, e] of it.byte_ranges.slice(0, 20)) {
      const want = file.subarray(s, Math.min(e, s + 512));
      const found = it.ranges.some(([a, b]) => {
        for (let x = a; x < b; x++) if (img.compare(want, 0, want.length, x * 512, x * 512 + want.length) === 0) return true;
        return false;
      });
      assert.ok(found, `${it.paths[0]} bytes ${s}.. lie in its sectors`);
    }
    checked++;
  }
  assert.ok(checked > 5);
  return r;
}

/** single blocks / sectors of files: their bytes in the image equal the file's bytes at the range given */
function checkFileBytes(im: Image, tree: string, relPath: string, fileOffsets: number[]): void {
  const data = fs.readFileSync(path.join(tree, relPath));
  const img = fs.readFileSync(im.img);
  const src = openImageSource(im.img);
  try {
    for (const off of fileOffsets) {
      // find the block holding file byte `off` by its content (unique pseudo-random data), then map that sector
      const needle = data.subarray(off, off + 512);
      const pos = img.indexOf(needle);
      assert.ok(pos >= 0 && pos % 512 === 0, `${relPath}@${off} found in the image`);
      const r = mapBadSectors(src, [[pos / 512, pos / 512 + 1]]);
      assert.equal(r.items.length, 1);
      const it = nth(r.items, 0, 'item');
      assert.equal(it.kind, 'file', JSON.stringify(it));
      if (it.kind !== 'file') return;
      assert.ok(it.paths.includes('/' + relPath), `${it.paths} includes /${relPath}`);
      assert.deepEqual(it.byte_ranges, [[off, off + 512]]);
      assert.equal(r.files_damaged, 1);
    }
  } finally {
    (src as SectorSource & { close(): void }).close();
  }
}

function imageOf(img: string): Image {
  const bs = Number(dumpe2fsField(img, 'Block size'));
  const blocks = Number(dumpe2fsField(img, 'Block count'));
  return { img, bs, blocks };
}

describe('fsmap ext4 (against debugfs)', { skip }, () => {
  let dir: string;
  let tree: string;
  const images: Record<string, Image> = {};
  const imageNamed = (name: string): Image => must(images[name], `image ${name}`);
  before(() => {
    dir = tmpDir('fsmap-ext4-');
    tree = path.join(dir, 'tree');
    fs.mkdirSync(tree);
    buildTree(tree);
    const host = path.join(dir, 'host.bin');
    const mk = (name: string, size: number, args: string[], frag = true) => {
      const img = path.join(dir, `${name}.img`);
      mkfsExt4(img, tree, size, args);
      if (frag) fragmentExt4(img, host);
      indexDirs(img);
      images[name] = imageOf(img);
    };
    mk('ext4-4k', 160, ['-b', '4096']);
    mk('ext4-1k-inline', 96, ['-b', '1024', '-O', 'inline_data,^resize_inode,orphan_file,quota']);
    // ext3-style: block maps with indirect blocks, no extents, no flex_bg, 1 KiB blocks so the sparse file needs
    // double-indirect blocks
    mk('ext3-1k', 96, ['-b', '1024', '-t', 'ext3', '-O', '^metadata_csum,^64bit']);
    mk('ext4-meta_bg', 96, ['-b', '1024', '-O', 'meta_bg,^resize_inode,sparse_super2'], false);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const structures = (r: FsMapResult) => new Set(r.items.map((i) => (i.kind === 'metadata' ? i.structure : i.kind)));
  it('ext4-4k: every block answers as icheck/testb/ncheck do', () => {
    const s = structures(compareEveryBlock(imageNamed('ext4-4k'), tree));
    for (const k of [
      'ext4.superblock_backup',
      'ext4.group_descriptors',
      'ext4.resize_inode',
      'ext4.journal',
      'ext4.extent_tree',
      'ext4.directory',
      'ext4.inode_table',
      'ext4.block_bitmap',
      'ext4.inode_bitmap',
      'free',
      'file',
    ])
      assert.ok(s.has(k), k);
  });
  it('ext4-1k-inline (inline data, orphan file, quota): every block answers as icheck/testb/ncheck do', () => {
    const r = compareEveryBlock(imageNamed('ext4-1k-inline'), tree);
    const s = structures(r);
    for (const k of ['ext4.orphan_file', 'ext4.quota', 'ext4.journal']) assert.ok(s.has(k), k);
    // inline files hold no block
    assert.ok(!r.items.some((i) => i.kind === 'file' && i.paths.includes('/tiny.txt')));
  });
  it('ext3-1k (indirect block maps): every block answers as icheck/testb/ncheck do', () => {
    const s = structures(compareEveryBlock(imageNamed('ext3-1k'), tree));
    assert.ok(s.has('ext4.indirect_block'));
  });
  it('ext4 meta_bg + sparse_super2: every block answers as icheck/testb/ncheck do', () => {
    const s = structures(compareEveryBlock(imageNamed('ext4-meta_bg'), tree));
    assert.ok(s.has('ext4.group_descriptors_backup') && s.has('ext4.superblock_backup'));
  });

  it('a bad sector inside a file: the exact 512 bytes of the file, with every hard link', () => {
    const im = imageNamed('ext4-4k');
    checkFileBytes(im, tree, 'dir/f1.bin', [0, 4096 + 512, 299008]);
    checkFileBytes(im, tree, 'big/sparse', [SPARSE_ISLANDS[1] + 1024, SPARSE_ISLANDS[2] + ISLAND - 512]);
    checkFileBytes(imageNamed('ext3-1k'), tree, 'big/sparse', [SPARSE_ISLANDS[2] + 4096]);
  });

  it('hard links: every path naming the inode', () => {
    const im = imageNamed('ext4-4k');
    const data = fs.readFileSync(path.join(tree, 'dir/f1.bin'));
    const pos = fs.readFileSync(im.img).indexOf(data.subarray(8192, 8192 + 512));
    const src = openImageSource(im.img);
    try {
      const r = mapBadSectors(src, [[pos / 512, pos / 512 + 8]]);
      const it = nth(r.items, 0, 'item');
      assert.equal(it.kind, 'file');
      if (it.kind !== 'file') return;
      assert.deepEqual([...it.paths].sort(), ['/dir/f1.bin', '/dir/sub/hard.bin', '/hl']);
      assert.equal(it.paths_total, 3);
      assert.deepEqual(it.byte_ranges, [[8192, 8192 + 4096]]);
    } finally {
      (src as SectorSource & { close(): void }).close();
    }
  });

  it('unwritten extents: allocated, not yet written (not a damaged file)', () => {
    const im = imageNamed('ext4-4k');
    // what debugfs says is unwritten ("Uninit" extents)
    const dump = debugfs(im.img, ['dump_extents /prealloc']);
    let uninit = 0;
    for (const m of dump.matchAll(/^\s*\d+\/\s*\d+\s+\d+\/\s*\d+\s+\d+\s*-\s*\d+\s+\d+\s*-\s*\d+\s+(\d+)\s+Uninit/gm)) uninit += Number(m[1]);
    assert.ok(uninit > 0, dump);
    // the preallocated range of /prealloc: blocks past its written part
    const src = openImageSource(im.img);
    try {
      const all = mapBadSectors(src, [[0, im.blocks * (im.bs / 512)]], { maxRanges: 1e9 });
      const pre = all.items.find((i) => i.kind === 'file' && i.paths.includes('/prealloc'));
      assert.ok(pre && pre.kind === 'file');
      if (pre?.kind !== 'file') return;
      assert.equal(pre.unwritten_bytes, uninit * 4096);
      // one block of the unwritten part alone: no damaged bytes, harmless
      const last = must(pre.ranges.at(-1), 'range of /prealloc');
      const one = mapBadSectors(src, [[last[1] - 8, last[1]]]);
      const it = nth(one.items, 0, 'item');
      assert.equal(it.kind, 'file');
      if (it.kind !== 'file') return;
      assert.deepEqual(it.byte_ranges, []);
      assert.equal(it.unwritten_bytes, 4096);
      assert.equal(one.files_damaged, 0);
      assert.match(it.meaning, /not yet written/);
    } finally {
      (src as SectorSource & { close(): void }).close();
    }
  });

  it('a fragmented file: its extent index block is named as its extent tree', () => {
    const im = imageNamed('ext4-4k');
    const src = openImageSource(im.img);
    try {
      const all = mapBadSectors(src, [[0, im.blocks * (im.bs / 512)]], { maxRanges: 1e9 });
      const frag = all.items.find((i) => i.kind === 'file' && i.paths.includes('/frag/fragmented'));
      assert.ok(frag && frag.kind === 'file');
      assert.ok(frag.ranges_total > 4, `fragmented into ${frag.ranges_total} ranges`);
      const etb = all.items.find((i) => i.kind === 'metadata' && i.structure === 'ext4.extent_tree' && i.owner?.inode === (frag as { inode: number }).inode);
      assert.ok(etb, 'its extent-tree block is an item');
      assert.deepEqual(etb.kind === 'metadata' && etb.owner?.paths, ['/frag/fragmented']);
    } finally {
      (src as SectorSource & { close(): void }).close();
    }
  });

  it('checkFree agrees with testb', () => {
    const im = imageNamed('ext4-1k-inline');
    const spb = im.bs / 512;
    const blocks = Array.from({ length: 2000 }, (_, i) => 1 + i * 7);
    const used = testb(im.img, blocks);
    const src = openImageSource(im.img);
    try {
      const fc = checkFree(
        src,
        blocks.map((b) => [b * spb, (b + 1) * spb] as const),
      );
      const isFree = (b: number) => fc.free.some(([x, y]) => b * spb >= x && b * spb < y);
      for (const b of blocks) assert.equal(isFree(b), !used.get(b), `block ${b}`);
    } finally {
      (src as SectorSource & { close(): void }).close();
    }
  });
});

describe('ext4 on-disk parsing of corrupt input (no tools needed)', () => {
  it('a directory area said to run past its buffer: a problem naming it, not a read past the end', () => {
    // struct ext4_dir_entry_2 '.' (inode 2, rec_len 12, name_len 1) fills the 12 bytes there are; the caller says 24
    const b = Buffer.alloc(12);
    b.writeUInt32LE(2, 0);
    b.writeUInt16LE(12, 4);
    b.writeUInt8(1, 6);
    b.write('.', 8, 'latin1');
    const names: string[] = [];
    assert.equal(
      dirEntries(b, 0, 24, 1024, (_i, n) => names.push(n.toString('latin1'))),
      'the directory area ends at byte 24, past the end of its buffer (12 bytes)',
    );
    assert.equal(names.length, 0);
    // the same entry with the right end: read, no problem
    assert.equal(
      dirEntries(b, 0, 12, 1024, (_i, n) => names.push(n.toString('latin1'))),
      null,
    );
    assert.deepEqual(names, ['.']);
  });
});
