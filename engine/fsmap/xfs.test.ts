// XFS mapping checked against xfsprogs on images mkfs.xfs made and the kernel filled (loop mount): for EVERY block,
// what the mapper says equals xfs_db's blockget/blockuse (block → type and owning inode) and ncheck (inode → paths);
// on an rmapbt file system also xfs_db's fsmap. File byte ranges are checked against the files' own bytes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { checkFree, mapBadSectors, openImageSource, type FsMapItem, type FsMapResult } from './index.js';
import { pseudoRandom, run, tmpDir, toolMissing, xfsDb } from '../../testing/fsmap-tools.js';
import { buildTree, mkfsXfs, xfsFillUnavailable } from '../../testing/fsmap-fixtures.js';
import { must, nth } from '../../testing/must.js';
import { decodeXfsDinode, decodeXfsSb, XFS_DIR2_DATA_MAGIC, xfsDirDataEntries, xfsShortformEntries } from './xfs/ondisk.js';
import { MapError } from './reader.js';
import { IntegrityStudioError } from '../errors.js';

const skip = toolMissing('mkfs.xfs', 'xfs_db', 'xfs_io') || xfsFillUnavailable();

interface Geo {
  bs: number;
  agblocks: number;
  agcount: number;
  dblocks: number;
}

function geometry(img: string): Geo {
  const t = xfsDb(img, ['sb 0', 'p blocksize agblocks agcount dblocks']);
  const v = (k: string) => Number(new RegExp(`^${k} = (\\d+)`, 'm').exec(t)![1]!);
  return { bs: v('blocksize'), agblocks: v('agblocks'), agcount: v('agcount'), dblocks: v('dblocks') };
}

/** xfs_db blockget + blockuse over every AG: linear block → { type, inode } */
function blockuse(img: string, g: Geo): Map<number, { type: string; inode: number | null }> {
  const cmds = ['blockget -n'];
  const agblklog = Math.ceil(Math.log2(g.agblocks));
  for (let a = 0; a < g.agcount; a++) {
    const len = a === g.agcount - 1 ? g.dblocks - a * g.agblocks : g.agblocks;
    cmds.push(`fsblock ${a * 2 ** agblklog}`, `blockuse -n -c ${len}`);
  }
  const out = new Map<number, { type: string; inode: number | null }>();
  for (const line of xfsDb(img, cmds).split('\n')) {
    const m = /^block \d+ \((\d+)\/(\d+)\) type (\S+)(?: inode (\d+))?/.exec(line);
    if (m) out.set(Number(m[1]) * g.agblocks + Number(m[2]), { type: m[3]!, inode: m[4] ? Number(m[4]) : null });
  }
  return out;
}

/** xfs_db ncheck: inode → '/'-rooted paths ('dir/.' is the directory itself) */
function xfsNcheck(img: string): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const line of xfsDb(img, ['blockget -n', 'ncheck']).split('\n')) {
    const m = /^\s*(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const p = '/' + m[2]!.replace(/\/\.$/, ''); // (.*) always matches
    const l = out.get(Number(m[1])) ?? [];
    if (!l.includes(p)) l.push(p);
    out.set(Number(m[1]), l);
  }
  return out;
}

const TYPE_TO_STRUCTURE: Record<string, string> = {
  btbno: 'xfs.bnobt',
  btcnt: 'xfs.cntbt',
  btino: 'xfs.inobt',
  btfino: 'xfs.finobt',
  btrmap: 'xfs.rmapbt',
  btrefcnt: 'xfs.refcountbt',
  btrefc: 'xfs.refcountbt',
  freelist: 'xfs.agfl_block',
  log: 'xfs.log',
  inode: 'xfs.inode_chunk',
  agf: 'xfs.agf',
  agi: 'xfs.agi',
  agfl: 'xfs.agfl',
};

function itemsAt(r: FsMapResult, sector: number): FsMapItem[] {
  return r.items.filter((i) => i.ranges.some(([a, b]) => sector >= a && sector < b));
}

function compareEveryBlock(img: string, tree: string, method?: 'scan' | 'rmapbt', full = true): FsMapResult {
  const g = geometry(img);
  const spb = g.bs / 512;
  const src = openImageSource(img);
  let r: FsMapResult;
  try {
    r = mapBadSectors(src, [[0, g.dblocks * spb]], { maxRanges: 1e9, maxPaths: 100, maxNames: 1e6, method });
  } finally {
    src.close();
  }
  assert.equal(r.fs, 'xfs');
  assert.equal(r.block_size, g.bs);
  assert.equal(r.unmapped_sectors, 0, JSON.stringify(r.items.filter((i) => i.kind === 'unmapped')));
  assert.equal(r.may_be_stale, null);
  const want = blockuse(img, g);
  assert.equal(want.size, g.dblocks, 'blockuse answered for every block');
  const counts: Record<string, number> = {};
  const bmbtBlocks: number[] = [];
  for (const [lin, w] of want) {
    const at = itemsAt(r, lin * spb);
    const what = JSON.stringify(
      at.map((i) => [i.kind, i.kind === 'metadata' ? i.structure : '', i.kind === 'file' ? i.inode : i.kind === 'metadata' ? i.owner?.inode : null]),
    );
    counts[w.type] = (counts[w.type] ?? 0) + 1;
    if (w.inode !== null) {
      assert.ok(
        at.some((i) => (i.kind === 'file' && i.inode === w.inode) || (i.kind === 'metadata' && i.owner?.inode === w.inode)),
        `block ${lin}: xfs_db says ${w.type} of inode ${w.inode}; we say ${what}`,
      );
      // xfs_db's check marks a fork's bmbt blocks with the fork's type (scanfunc_bmap: set_dbmap(…, type, …)); we
      // name them, and their magic is checked below
      const bmbt = at.some((i) => i.kind === 'metadata' && i.structure === 'xfs.bmbt');
      if (bmbt) bmbtBlocks.push(lin);
      if (w.type === 'data')
        assert.ok(bmbt || at.some((i) => i.kind === 'file' || (i.kind === 'metadata' && /quota|rt_/.test(i.structure))), `block ${lin}: data; we say ${what}`);
      if (w.type === 'dir') assert.ok(bmbt || at.some((i) => i.kind === 'metadata' && /^xfs\.dir/.test(i.structure)), `block ${lin}: dir; we say ${what}`);
      if (w.type === 'btbmapd' || w.type === 'btbmapa')
        assert.ok(
          at.some((i) => i.kind === 'metadata' && i.structure === 'xfs.bmbt'),
          `block ${lin}: bmbt; we say ${what}`,
        );
    } else if (/^free\d/.test(w.type)) {
      assert.deepEqual(
        at.map((i) => i.kind),
        ['free'],
        `block ${lin}: free per xfs_db; we say ${what}`,
      );
    } else if (w.type === 'sb') {
      assert.ok(
        at.some((i) => i.kind === 'metadata' && /^xfs\.superblock/.test(i.structure)),
        `block ${lin}: sb; we say ${what}`,
      );
    } else {
      const s = TYPE_TO_STRUCTURE[w.type];
      assert.ok(s, `block ${lin}: xfs_db type ${w.type} is not one this test knows`);
      assert.ok(
        at.some((i) => i.kind === 'metadata' && i.structure === s),
        `block ${lin}: ${w.type} per xfs_db; we say ${what}`,
      );
    }
  }
  for (const t of full ? ['data', 'dir', 'inode', 'log', 'btbno', 'btcnt', 'btino', 'sb'] : ['data', 'inode', 'log', 'sb'])
    assert.ok((counts[t] ?? 0) > 0, `the image has ${t} blocks (${JSON.stringify(counts)})`);
  // the blocks we call bmbt blocks carry the bmbt magic, as xfs_db reads them
  assert.ok(bmbtBlocks.length > 0 || !full);
  const agblklog = Math.ceil(Math.log2(g.agblocks));
  const magics = !bmbtBlocks.length
    ? ''
    : xfsDb(
        img,
        bmbtBlocks.flatMap((lin) => [`fsblock ${Math.floor(lin / g.agblocks) * 2 ** agblklog + (lin % g.agblocks)}`, 'type bmapbtd', 'p magic']),
      );
  if (bmbtBlocks.length) assert.equal((magics.match(/magic = 0x424d4133/g) ?? []).length, bmbtBlocks.length, magics);
  // paths: xfs_db ncheck names one path per inode, which must be among ours; every path we give of a file from
  // the tree is a hard link of one host file, and there are as many as it has links
  const names = xfsNcheck(img);
  let named = 0;
  for (const i of r.items) {
    const ref = i.kind === 'file' ? i : i.kind === 'metadata' && i.owner && !i.owner.paths_total ? null : i.kind === 'metadata' ? i.owner : null;
    if (!ref || !names.has(ref.inode)) continue;
    for (const p of names.get(ref.inode)!) assert.ok(ref.paths.includes(p), `inode ${ref.inode}: xfs_db ncheck names ${p}; we say ${ref.paths}`);
    named++;
    if (i.kind !== 'file') continue;
    const host = ref.paths
      .map((p) => path.join(tree, p))
      .filter((p) => fs.existsSync(p))
      .map((p) => fs.lstatSync(p));
    if (host.length !== ref.paths.length) continue;
    assert.equal(new Set(host.map((s) => s.ino)).size, 1, `${ref.paths} are one file`);
    assert.equal(nth(host, 0, `lstat of ${ref.paths}`).nlink, ref.paths_total, `${ref.paths}: every link`);
  }
  assert.ok(named >= (full ? 20 : 2));
  // file bytes: the start of each byte range lies in one of the item's sectors
  const image = fs.readFileSync(img);
  for (const it of r.items) {
    if (it.kind !== 'file' || it.file_type !== 'regular' || !it.paths.length) continue;
    const p = path.join(tree, nth(it.paths, 0, 'path'));
    if (!fs.existsSync(p)) continue;
    const file = fs.readFileSync(p);
    for (const [s, e] of it.byte_ranges.slice(0, 20)) {
      const wantBytes = file.subarray(s, Math.min(e, s + 512));
      assert.ok(
        it.ranges.some(([a, b]) => {
          for (let x = a; x < b; x++) if (image.compare(wantBytes, 0, wantBytes.length, x * 512, x * 512 + wantBytes.length) === 0) return true;
          return false;
        }),
        `${it.paths[0]} bytes ${s}.. lie in its sectors`,
      );
    }
  }
  return r;
}

describe('fsmap xfs (against xfs_db)', { skip }, () => {
  let dir: string;
  let tree: string;
  const imgs: Record<string, string> = {};
  const imageNamed = (name: string): string => must(imgs[name], `image ${name}`);
  before(() => {
    dir = tmpDir('fsmap-xfs-');
    tree = path.join(dir, 'tree');
    fs.mkdirSync(tree);
    buildTree(tree);
    const mk = (name: string, args: string[]) => {
      const img = path.join(dir, `${name}.img`);
      imgs[name] = img;
      mkfsXfs(img, tree, 160, args, path.join(dir, 'mnt'));
    };
    mk('xfs-default', []);
    mk('xfs-rmapbt-1k', ['-b', 'size=1024', '-m', 'rmapbt=1']);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('default mkfs.xfs (4 KiB, reflink, finobt, sparse inodes): every block answers as blockget/blockuse/ncheck do', () => {
    const r = compareEveryBlock(imageNamed('xfs-default'), tree);
    const frag = r.items.find((i) => i.kind === 'file' && i.paths.includes('/frag/interleaved-a'));
    assert.ok(frag && frag.ranges_total > 4, `the interleaved file has many extents (${frag?.ranges_total})`);
    assert.ok(
      r.items.some((i) => i.kind === 'metadata' && i.structure === 'xfs.bmbt' && i.owner?.inode === (frag as { inode: number }).inode),
      'its block-map btree block is an item',
    );
    const shared = r.items.filter((i) => i.kind === 'file' && (i.paths.includes('/reflinked.bin') || i.paths.includes('/dir/sub/mid.bin')));
    assert.equal(shared.length, 2, 'a reflinked block names both files');
    const pre = r.items.find((i) => i.kind === 'file' && i.paths.includes('/prealloc'));
    assert.ok(pre?.kind === 'file' && pre.unwritten_bytes > 0 && pre.byte_ranges.length > 0);
  });

  it('rmapbt, 1 KiB blocks: every block answers as blockget/blockuse/ncheck do, and as xfs_db fsmap', () => {
    const img = imageNamed('xfs-rmapbt-1k');
    const r = compareEveryBlock(img, tree);
    assert.equal(r.stats.method, 'rmapbt');
    // the reverse-mapping look-ups and the scan of every inode give the same answers
    const scan = compareEveryBlock(img, tree, 'scan');
    assert.equal(scan.stats.method, 'scan');
    assert.deepEqual(r.items, scan.items);
    // xfs_db fsmap: "N: agno/agbno-end owner off len" rows; every inode owner it names has our item there
    const g = geometry(img);
    const text = xfsDb(img, [`fsmap 0 ${g.agcount * 2 ** Math.ceil(Math.log2(g.agblocks))}`]);
    let rows = 0;
    for (const m of text.matchAll(/^\s*\d+: (\d+)\/(\d+) len (\d+) owner (-?\d+)/gm)) {
      const owner = Number(m[4]);
      if (owner <= 0) continue;
      rows++;
      const first = Number(m[1]) * g.agblocks + Number(m[2]);
      for (const lin of [first, first + Number(m[3]) - 1]) {
        const at = itemsAt(r, lin * (g.bs / 512));
        assert.ok(
          at.some((i) => (i.kind === 'file' && i.inode === owner) || (i.kind === 'metadata' && i.owner?.inode === owner)),
          `fsmap: block ${lin} owner ${owner}`,
        );
      }
    }
    assert.ok(rows > 10, text.slice(0, 500));
  });

  it('a bad sector inside a file: the exact 512 bytes, every hard link', () => {
    const img = imageNamed('xfs-default');
    const data = fs.readFileSync(path.join(tree, 'dir/f1.bin'));
    const image = fs.readFileSync(img);
    const pos = image.indexOf(data.subarray(8192 + 1024, 8192 + 1536));
    assert.ok(pos > 0 && pos % 512 === 0);
    const src = openImageSource(img);
    try {
      const r = mapBadSectors(src, [[pos / 512, pos / 512 + 1]]);
      assert.equal(r.items.length, 1);
      const it = nth(r.items, 0, 'item');
      assert.ok(it.kind === 'file');
      assert.deepEqual([...it.paths].sort(), ['/dir/f1.bin', '/dir/sub/hard.bin', '/hl']);
      assert.deepEqual(it.byte_ranges, [[9216, 9728]]);
      assert.equal(r.files_damaged, 1);
    } finally {
      src.close();
    }
  });

  it('a remote symlink: its block header makes the whole target unreadable; a sector after it, its part of the target', () => {
    const img = imageNamed('xfs-default');
    const g = geometry(img);
    const ino = Number(/^\s*(\d+) remotesym$/m.exec(xfsDb(img, ['blockget -n', 'ncheck']))![1]!);
    const m = /startblock \d+ \((\d+)\/(\d+)\)/.exec(xfsDb(img, [`inode ${ino}`, 'bmap']))!;
    const lin = Number(m[1]) * g.agblocks + Number(m[2]);
    const target = fs.readlinkSync(path.join(tree, 'remotesym'));
    assert.equal(target.length, 700);
    // the target follows the 56-byte xfs_dsymlink_hdr in the block
    const block = Buffer.alloc(g.bs);
    const fd = fs.openSync(img, 'r');
    fs.readSync(fd, block, 0, g.bs, lin * g.bs);
    fs.closeSync(fd);
    assert.equal(block.subarray(56, 56 + 700).toString(), target);
    const src = openImageSource(img);
    try {
      const spb = g.bs / 512;
      const head = nth(mapBadSectors(src, [[lin * spb, lin * spb + 1]]).items, 0, 'item');
      assert.ok(head.kind === 'file' && head.file_type === 'symlink');
      assert.deepEqual(head.paths, ['/remotesym']);
      assert.deepEqual(head.byte_ranges, [[0, 700]]);
      const second = nth(mapBadSectors(src, [[lin * spb + 1, lin * spb + 2]]).items, 0, 'item');
      assert.ok(second.kind === 'file');
      assert.deepEqual(second.byte_ranges, [[512 - 56, 700]]);
      assert.equal(second.beyond_eof_bytes, 1024 - 56 - 700);
    } finally {
      src.close();
    }
  });

  it('checkFree agrees with blockuse', () => {
    const img = imageNamed('xfs-default');
    const g = geometry(img);
    const spb = g.bs / 512;
    const want = blockuse(img, g);
    const blocks = [...want.keys()].filter((_, i) => i % 5 === 0);
    const src = openImageSource(img);
    try {
      const fc = checkFree(
        src,
        blocks.map((b) => [b * spb, (b + 1) * spb] as const),
      );
      const isFree = (b: number) => fc.free.some(([x, y]) => b * spb >= x && b * spb < y);
      for (const b of blocks) assert.equal(isFree(b), /^free\d/.test(want.get(b)!.type), `block ${b}: ${want.get(b)!.type}`);
    } finally {
      src.close();
    }
  });

  it('a dirty log makes the mapping possibly stale', () => {
    const img = path.join(dir, 'dirty.img');
    const mnt = path.join(dir, 'mnt2');
    fs.copyFileSync(imageNamed('xfs-default'), img);
    fs.mkdirSync(mnt, { recursive: true });
    run('mount', ['-o', 'loop', img, mnt]);
    const copy = path.join(dir, 'dirty-copy.img');
    try {
      fs.writeFileSync(path.join(mnt, 'new'), 'x');
      run('sync', []);
      fs.copyFileSync(img, copy);
    } finally {
      run('umount', [mnt]);
    }
    assert.match(run('xfs_logprint', ['-t', copy], { allowFail: true }), /DIRTY/);
    const src = openImageSource(copy);
    try {
      assert.match(mapBadSectors(src, [[0, 1]]).may_be_stale ?? '', /log holds changes not yet replayed/);
    } finally {
      src.close();
    }
  });
});

// v4 (crc=0, deprecated): made without root by mkfs.xfs -p (a protofile: no hard links), so it runs wherever xfsprogs is
describe('fsmap xfs v4 (against xfs_db)', { skip: toolMissing('mkfs.xfs', 'xfs_db') }, () => {
  it('a v4 file system from a protofile: every block answers as blockget/blockuse/ncheck do', () => {
    const dir = tmpDir('fsmap-xfs4-');
    try {
      const tree = path.join(dir, 'tree');
      fs.mkdirSync(path.join(tree, 'sub'), { recursive: true });
      fs.writeFileSync(path.join(tree, 'a.bin'), pseudoRandom(200 * 1024, 41));
      fs.writeFileSync(path.join(tree, 'sub/b.bin'), pseudoRandom(30 * 1024, 42));
      const proto = path.join(dir, 'proto');
      fs.writeFileSync(
        proto,
        ['/dev/null', '0 0', 'd--755 0 0', `a.bin ---644 0 0 ${tree}/a.bin`, 'sub d--755 0 0', `b.bin ---644 0 0 ${tree}/sub/b.bin`, '$', '$', ''].join('\n'),
      );
      const img = path.join(dir, 'v4.img');
      fs.writeFileSync(img, '');
      fs.truncateSync(img, 64 << 20);
      run('sh', ['-c', `TEST_DIR=/tmp TEST_DEV=/dev/null QA_CHECK_FS=xfs mkfs.xfs -q -f -m crc=0 -p ${proto} ${img} 2>/dev/null`]);
      const r = compareEveryBlock(img, tree, undefined, false);
      assert.match(r.fs_description, /^xfs \(v4/);
      assert.ok(r.items.some((i) => i.kind === 'file' && i.paths.includes('/sub/b.bin')));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('xfs on-disk parsing of corrupt input (no tools needed)', () => {
  const isMapError = (re: RegExp) => (e: unknown) => {
    assert.ok(e instanceof MapError && e instanceof IntegrityStudioError, String(e));
    assert.equal(e.code, 'EFORMAT');
    assert.match(e.message, re);
    return true;
  };
  it('an inode core cut short: a MapError naming it (was a RangeError from a read past the buffer)', () => {
    assert.throws(() => decodeXfsDinode(Buffer.alloc(64), 0, 512), isMapError(/^xfs: the inode core at byte 0 runs past the end of its buffer \(64 bytes\)$/));
    assert.throws(
      () => decodeXfsDinode(Buffer.alloc(512), 448, 512),
      isMapError(/^xfs: the inode core at byte 448 runs past the end of its buffer \(512 bytes\)$/),
    );
    // a whole one decodes
    const b = Buffer.alloc(512);
    b.writeUInt16BE(0x494e, 0);
    b.writeUInt8(3, 4);
    assert.equal(decodeXfsDinode(b, 0, 512).di_version, 3);
  });
  it('a shortform directory header cut short: a MapError naming it', () => {
    assert.throws(
      () => xfsShortformEntries(Buffer.alloc(4), 0, 4, false, () => {}),
      isMapError(/^xfs: the shortform directory header at byte 0 runs past the end of its inode \(4 bytes\)$/),
    );
  });
  it('a superblock buffer shorter than struct xfs_dsb: a MapError naming it', () => {
    assert.throws(() => decodeXfsSb(Buffer.alloc(200)), isMapError(/^xfs: the superblock is 200 bytes, shorter than struct xfs_dsb/));
  });
  it('a directory data entry cut off before its name length: a corrupted entry, as before', () => {
    // xfs_dir2_data_hdr (16 bytes), then an entry's 8-byte inumber and nothing more
    const b = Buffer.alloc(24);
    b.writeUInt32BE(XFS_DIR2_DATA_MAGIC, 0);
    b.writeUInt32BE(128, 20);
    let called = 0;
    assert.equal(
      xfsDirDataEntries(b, true, () => called++),
      'corrupted entry at byte 16',
    );
    assert.equal(called, 0);
  });
});
