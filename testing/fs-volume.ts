// Test volumes holding a real file system (issue 20): an ext4 image made by mkfs.ext4 -d (or an XFS image made by
// mkfs.xfs from a protofile, no root needed) written into a dm-integrity volume of our format through the engine's
// write path — or into a LUKS2 authenticated volume through dm-crypt — then blocks spoiled under a file, a directory,
// an inode-table block and free space: a tag for a dm-integrity volume, the ciphertext for LUKS2. What each spoiled
// block holds is read from debugfs / xfs_db on the plain image, so tests compare the CLI, the host and the dashboard
// with the tools. Used by tests and e2e specs only.
import fs from 'node:fs';
import path from 'node:path';
import { formatVolume } from '../engine/commands/format.js';
import { openWritable } from '../engine/integrity/writable.js';
import { openVolume } from '../engine/volume.js';
import { dataSector, tagOffset } from '../engine/layout/geometry.js';
import { formatCryptVolume } from '../engine/crypt/format.js';
import { openCryptVolume, segmentFromLuks } from '../engine/crypt/volume.js';
import { readLuks2Header, unlockLuks2 } from '../engine/luks/index.js';
import { debugfs, icheck, ncheck, pseudoRandom, run, testb, toolMissing, xfsDb } from './fsmap-tools.js';

export const EXT4_TOOLS = ['mkfs.ext4', 'debugfs', 'dumpe2fs'];
export const XFS_TOOLS = ['mkfs.xfs', 'xfs_db'];
export { toolMissing };

/** a small tree: a file with a hard link, a directory of 40 notes, a nested directory */
export function makeTree(dir: string): void {
  fs.mkdirSync(path.join(dir, 'docs/old'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'docs/report.bin'), pseudoRandom(200 * 1024, 5));
  fs.linkSync(path.join(dir, 'docs/report.bin'), path.join(dir, 'docs/old/report-link.bin'));
  for (let i = 0; i < 40; i++) fs.writeFileSync(path.join(dir, 'docs', `note-${i}.txt`), `note ${i}\n`.repeat(300));
  fs.mkdirSync(path.join(dir, 'photos'));
  fs.writeFileSync(path.join(dir, 'photos/cat.jpg'), pseudoRandom(64 * 1024, 6));
}

/** What the tools say about each spoiled block (4 KiB file-system blocks; the spoiled sector is the block's third). */
export interface Spoiled {
  /** the file's second block: bytes 4096.. of /docs/report.bin (debugfs `blocks`) */
  file: { block: number; sector: number; inode: number; paths: string[]; bytes: [number, number] };
  /** /docs's first directory block */
  dir: { block: number; sector: number; inode: number; paths: string[] };
  /** the inode-table block holding report.bin's inode (debugfs imap) */
  itable: { block: number; sector: number; inode: number };
  /** a block not in use (debugfs testb) */
  free: { block: number; sector: number };
}

function ext4Facts(fsimg: string): Spoiled {
  // debugfs -f echoes each command ("debugfs: blocks …") before its answer
  const blocksOf = (p: string) =>
    debugfs(fsimg, [`blocks ${p}`])
      .trim()
      .split('\n')
      .pop()!
      .trim()
      .split(/\s+/)
      .map(Number);
  const fileBlk = blocksOf('/docs/report.bin')[1]!;
  const dirBlk = blocksOf('/docs')[0]!;
  const owners = icheck(fsimg, [fileBlk, dirBlk]);
  const ino = owners.get(fileBlk)!;
  const dino = owners.get(dirBlk)!;
  const names = ncheck(fsimg, [ino, dino]);
  const itable = Number(/located at block (\d+)/.exec(debugfs(fsimg, [`imap <${ino}>`]))![1]);
  const total = Number(/Block count:\s+(\d+)/.exec(run('dumpe2fs', ['-h', fsimg], { allowFail: true }))![1]);
  const candidates = [total - 10, total - 20, total - 30, total - 40];
  const freeBlk = [...testb(fsimg, candidates)].find(([, used]) => !used)![0];
  const s = (b: number) => b * 8 + 2;
  return {
    file: { block: fileBlk, sector: s(fileBlk), inode: ino, paths: (names.get(ino) ?? []).sort(), bytes: [4096 + 1024, 4096 + 1536] },
    dir: { block: dirBlk, sector: s(dirBlk), inode: dino, paths: names.get(dino) ?? [] },
    itable: { block: itable, sector: s(itable), inode: ino },
    free: { block: freeBlk, sector: s(freeBlk) },
  };
}

/** mkfs.ext4 -d of the tree into an image of `bytes` (4 KiB blocks) */
function mkfsExt4(fsimg: string, tree: string, bytes: number): void {
  run('mkfs.ext4', ['-q', '-F', '-b', '4096', '-L', 'studio-test', '-d', tree, fsimg, `${Math.floor(bytes / 4096) * 4}k`]);
}

export interface FsVolume {
  vol: string;
  fsimg: string;
  spoiled: Spoiled;
  sectors: number;
}

/**
 * A dm-integrity volume (512-byte blocks, crc32c, journal) holding an ext4 file system, with the tag of the third
 * sector of each spoiled block changed. `dir` must exist.
 */
export function ext4Volume(dir: string, name = 'fs-volume.img', sizeMiB = 48): FsVolume {
  const tree = path.join(dir, `${name}.tree`);
  makeTree(tree);
  const vol = path.join(dir, name);
  formatVolume(vol, { size: sizeMiB << 20 });
  const v0 = openVolume(vol, { readOnly: true });
  const g = v0.geometry;
  v0.close();
  const fsimg = path.join(dir, `${name}.ext4`);
  mkfsExt4(fsimg, tree, g.provided_data_sectors * 512);
  writeInto(vol, fs.readFileSync(fsimg));
  const spoiled = ext4Facts(fsimg);
  const fd = fs.openSync(vol, 'r+');
  try {
    for (const x of [spoiled.file, spoiled.dir, spoiled.itable, spoiled.free]) flip(fd, tagOffset(g, x.sector));
  } finally {
    fs.closeSync(fd);
  }
  return { vol, fsimg, spoiled, sectors: g.provided_data_sectors };
}

function writeInto(vol: string, bytes: Buffer): void {
  const w = openWritable(vol, {});
  try {
    for (let off = 0; off < bytes.length; off += 1 << 20) w.write(off, bytes.subarray(off, Math.min(bytes.length, off + (1 << 20))));
    w.flush();
  } finally {
    w.close();
  }
}

function flip(fd: number, at: number): void {
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, at);
  b[0]! ^= 0x5a;
  fs.writeSync(fd, b, 0, 1, at);
}

/**
 * A LUKS2 authenticated volume (chacha20-random + poly1305, 512-byte sectors, key file `pw` in dir) holding the ext4 file
 * system, with the ciphertext of the third sector of each spoiled block changed (that sector fails authentication).
 */
export async function ext4LuksVolume(dir: string, name = 'fs-luks.img', sizeMiB = 40): Promise<FsVolume & { keyFile: string }> {
  const tree = path.join(dir, `${name}.tree`);
  makeTree(tree);
  const vol = path.join(dir, name);
  const keyFile = path.join(dir, `${name}.key`);
  fs.writeFileSync(keyFile, 'fsmap-pass');
  fs.writeFileSync(vol, '');
  fs.truncateSync(vol, sizeMiB << 20);
  await formatCryptVolume(vol, { secret: { keyFile }, integrity: 'poly1305', cipher: 'chacha20-random', keySize: 256, pbkdf: 'pbkdf2', pbkdfIterations: 1000 });
  const seg = segmentFromLuks(readLuks2Header(vol));
  const { volumeKey } = await unlockLuks2(vol, { keyFile });
  const cw = openCryptVolume(vol, seg, volumeKey, { readOnly: false });
  const fsimg = path.join(dir, `${name}.ext4`);
  let sectors: number;
  try {
    sectors = cw.sectors;
    mkfsExt4(fsimg, tree, cw.size);
    cw.write(0, fs.readFileSync(fsimg));
    cw.flush();
  } finally {
    cw.close();
  }
  const spoiled = ext4Facts(fsimg);
  const v = openCryptVolume(vol, seg, volumeKey);
  const g = v.integrity.geometry;
  v.close();
  volumeKey.fill(0);
  const fd = fs.openSync(vol, 'r+');
  try {
    for (const x of [spoiled.file, spoiled.dir, spoiled.itable, spoiled.free]) flip(fd, seg.offset + dataSector(g, x.sector) * 512 + 7);
  } finally {
    fs.closeSync(fd);
  }
  return { vol, fsimg, spoiled, sectors, keyFile };
}

/** mkfs.xfs below its 300 MB floor needs fstests' variables */
const XFS_SMALL_ENV = 'TEST_DIR=/tmp TEST_DEV=/dev/null QA_CHECK_FS=xfs';

export interface XfsSpoiled {
  file: { sector: number; inode: number; paths: string[]; bytes: [number, number]; type: string };
  free: { sector: number; type: string };
}

/**
 * A dm-integrity volume holding an XFS (v5) file system made by mkfs.xfs -p from a protofile (no root, no hard
 * links), the tag spoiled under the second block of /data/big.bin and under a free block; xfs_db says what each holds.
 */
export function xfsVolume(dir: string, name = 'xfs-volume.img', sizeMiB = 80): { vol: string; fsimg: string; spoiled: XfsSpoiled } {
  const tree = path.join(dir, `${name}.tree`);
  fs.mkdirSync(path.join(tree, 'data'), { recursive: true });
  fs.writeFileSync(path.join(tree, 'data/big.bin'), pseudoRandom(300 * 1024, 7));
  fs.writeFileSync(path.join(tree, 'small.txt'), 'small\n');
  const vol = path.join(dir, name);
  formatVolume(vol, { size: sizeMiB << 20 });
  const v0 = openVolume(vol, { readOnly: true });
  const g = v0.geometry;
  v0.close();
  const fsimg = path.join(dir, `${name}.xfs`);
  const proto = path.join(dir, `${name}.proto`);
  fs.writeFileSync(
    proto,
    [
      '/dev/null',
      '0 0',
      'd--755 0 0',
      `small.txt ---644 0 0 ${tree}/small.txt`,
      'data d--755 0 0',
      `big.bin ---644 0 0 ${tree}/data/big.bin`,
      '$',
      '$',
      '',
    ].join('\n'),
  );
  fs.writeFileSync(fsimg, '');
  fs.truncateSync(fsimg, Math.floor((g.provided_data_sectors * 512) / 4096) * 4096);
  run('sh', ['-c', `${XFS_SMALL_ENV} mkfs.xfs -q -f -b size=4096 -p ${proto} ${fsimg} 2>/dev/null`]);
  writeInto(vol, fs.readFileSync(fsimg));
  // xfs_db: the file's inode, its first extent, and what blockuse says of the blocks chosen
  const ncheckOut = xfsDb(fsimg, ['blockget -n', 'ncheck']);
  const m = /^\s*(\d+)\s+data\/big\.bin$/m.exec(ncheckOut);
  if (!m) throw new Error(`xfs_db ncheck: no data/big.bin in\n${ncheckOut}`);
  const ino = Number(m[1]);
  const bm = /startblock (\d+) \((\d+)\/(\d+)\) count (\d+)/.exec(xfsDb(fsimg, [`inode ${ino}`, 'bmap']))!;
  const sb = xfsDb(fsimg, ['sb 0', 'p agblocks dblocks']);
  const agblocks = Number(/agblocks = (\d+)/.exec(sb)![1]);
  const dblocks = Number(/dblocks = (\d+)/.exec(sb)![1]);
  const linear = (ag: number, agb: number) => ag * agblocks + agb;
  const fileBlk = linear(Number(bm[2]), Number(bm[3])) + 1;
  const use = (fsb: string) => /type (\S+)/.exec(xfsDb(fsimg, ['blockget -n', `fsblock ${fsb}`, 'blockuse -n']))?.[1] ?? '?';
  const fsbOf = (lin: number) => {
    const agblklog = Math.ceil(Math.log2(agblocks));
    return String(Math.floor(lin / agblocks) * 2 ** agblklog + (lin % agblocks));
  };
  const fileType = use(fsbOf(fileBlk));
  let freeBlk = dblocks - 16;
  while (!/^free[12]$/.test(use(fsbOf(freeBlk))) && freeBlk > dblocks - 400) freeBlk--;
  const spoiled: XfsSpoiled = {
    file: { sector: fileBlk * 8 + 2, inode: ino, paths: ['/data/big.bin'], bytes: [4096 + 1024, 4096 + 1536], type: fileType },
    free: { sector: freeBlk * 8 + 2, type: use(fsbOf(freeBlk)) },
  };
  const fd = fs.openSync(vol, 'r+');
  try {
    for (const x of [spoiled.file, spoiled.free]) flip(fd, tagOffset(g, x.sector));
  } finally {
    fs.closeSync(fd);
  }
  return { vol, fsimg, spoiled };
}
