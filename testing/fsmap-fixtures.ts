// Test images for engine/fsmap, made with the real tools from a generated tree (mkfs.ext4 -d; XFS via a loop
// mount or a protofile). Used only by the tests.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { debugfs, pseudoRandom, run, writeFiles } from './fsmap-tools.js';
import { skipOption } from './unavailable.js';

export const SPARSE_ISLANDS = [0, 10 << 20, 39 << 20] as const;
export const ISLAND = 64 << 10;

/** files, hard links, directories (one large enough for an htree), a sparse file, symlinks, tiny and empty files */
export function buildTree(root: string): void {
  fs.mkdirSync(path.join(root, 'dir/sub'), { recursive: true });
  fs.mkdirSync(path.join(root, 'big'));
  fs.mkdirSync(path.join(root, 'many'));
  fs.mkdirSync(path.join(root, 'frag'));
  fs.writeFileSync(path.join(root, 'a.txt'), 'hello\n');
  fs.writeFileSync(path.join(root, 'tiny.txt'), 'forty bytes of text for an inline file\n');
  fs.writeFileSync(path.join(root, 'empty'), '');
  fs.writeFileSync(path.join(root, 'dir/f1.bin'), pseudoRandom(300000, 11));
  fs.linkSync(path.join(root, 'dir/f1.bin'), path.join(root, 'dir/sub/hard.bin'));
  fs.linkSync(path.join(root, 'dir/f1.bin'), path.join(root, 'hl'));
  fs.writeFileSync(path.join(root, 'dir/sub/mid.bin'), pseudoRandom(70000, 12));
  for (let i = 0; i < 300; i++) fs.writeFileSync(path.join(root, 'many', `an-entry-with-a-rather-long-name-${i}`), `${i}\n`);
  const fd = fs.openSync(path.join(root, 'big/sparse'), 'w');
  for (const [k, at] of SPARSE_ISLANDS.entries()) fs.writeSync(fd, pseudoRandom(ISLAND, 20 + k), 0, ISLAND, at);
  fs.ftruncateSync(fd, 40 << 20);
  fs.closeSync(fd);
  fs.symlinkSync('a.txt', path.join(root, 'sym'));
  fs.symlinkSync('x'.repeat(120) + '/target', path.join(root, 'longsym'));
  // too long for an XFS inode's literal area: a remote symlink block
  fs.symlinkSync(`${'y'.repeat(99)}/`.repeat(7), path.join(root, 'remotesym'));
  writeFiles(path.join(root, 'frag'), 'fill', 120, 8192, 3);
}

/** After mkfs: holes punched among the fill files, then a file written into them (fragmented, an extent index
 *  block when it has more than 4 extents), and a preallocated (unwritten) range. */
export function fragmentExt4(img: string, hostFile: string): void {
  const rm: string[] = [];
  for (let i = 0; i < 120; i += 2) rm.push(`rm /frag/fill${i}`);
  debugfs(img, rm, true);
  fs.writeFileSync(hostFile, pseudoRandom(400 * 1024, 99));
  debugfs(img, [`write ${hostFile} /frag/fragmented`, `write ${hostFile} /prealloc`, 'fallocate /prealloc 0 150'], true);
}

export function mkfsExt4(img: string, tree: string, sizeMiB: number, args: string[]): void {
  fs.rmSync(img, { force: true });
  run('mkfs.ext4', ['-q', '-F', ...args, '-d', tree, img, `${sizeMiB}M`]);
}

/** e2fsck -fyD: index directories (htree) as a long-lived file system would have them */
export function indexDirs(img: string): void {
  run('e2fsck', ['-fyD', img], { allowFail: true });
}

/** mkfs.xfs below its 300 MB floor needs fstests' variables (xfs_mkfs.c validate_... allows tiny test file systems) */
const XFS_SMALL_ENV = { TEST_DIR: '/tmp', TEST_DEV: '/dev/null', QA_CHECK_FS: 'xfs' };

/** Why an XFS image cannot be filled here (loop mounts need root), or false. */
export function xfsFillUnavailable(): string | false {
  if (process.getuid?.() !== 0) return skipOption('filling an XFS image needs root (a loop mount); mkfs.xfs -p cannot make hard links');
  return false;
}

/**
 * An XFS image holding the tree, filled through a loop mount, then: holes punched among the fill files and a file
 * written into them (fragmented: a bmbt btree fork), a preallocated file (unwritten extents), a reflinked copy.
 */
export function mkfsXfs(img: string, tree: string, sizeMiB: number, args: string[], mnt: string): void {
  fs.rmSync(img, { force: true });
  fs.writeFileSync(img, '');
  fs.truncateSync(img, sizeMiB << 20);
  const env = { ...process.env, ...XFS_SMALL_ENV };
  const r = spawnSync('mkfs.xfs', ['-q', '-f', ...args, img], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mkfs.xfs: ${r.stderr}`);
  fs.mkdirSync(mnt, { recursive: true });
  run('mount', ['-o', 'loop', img, mnt]);
  try {
    run('cp', ['-a', `${tree}/.`, mnt]);
    for (let i = 0; i < 120; i += 2) fs.rmSync(path.join(mnt, 'frag', `fill${i}`));
    run('sync', []);
    fs.writeFileSync(path.join(mnt, 'frag/fragmented'), pseudoRandom(400 * 1024, 99));
    interleave(path.join(mnt, 'frag/interleaved-a'), path.join(mnt, 'frag/interleaved-b'), 120);
    run('xfs_io', ['-f', '-c', 'pwrite -q 0 64k', '-c', 'falloc 64k 1m', path.join(mnt, 'prealloc')]);
    if (!args.some((a) => a.includes('reflink=0'))) run('cp', ['--reflink=always', path.join(mnt, 'dir/sub/mid.bin'), path.join(mnt, 'reflinked.bin')]);
  } finally {
    run('umount', [mnt]);
  }
}

/** Two files written 4 KiB at a time in turn, each write flushed: their extents interleave (a fork too large for
 *  the inode: a bmbt btree) */
export function interleave(a: string, b: string, blocks: number): void {
  const fa = fs.openSync(a, 'w');
  const fb = fs.openSync(b, 'w');
  try {
    for (let i = 0; i < blocks; i++) {
      for (const [fd, seed] of [
        [fa, 1000],
        [fb, 2000],
      ] as [number, number][]) {
        fs.writeSync(fd, pseudoRandom(4096, seed + i), 0, 4096, i * 4096);
        fs.fsyncSync(fd);
      }
    }
  } finally {
    fs.closeSync(fa);
    fs.closeSync(fb);
  }
}
