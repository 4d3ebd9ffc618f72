// verify/scrub --map-files through bin/integrity-studio.js on real file systems placed on our volumes with spoiled
// blocks (testing/fs-volume.ts): ext4 and XFS on dm-integrity (tags changed), ext4 on LUKS2 (ciphertext
// changed). What the CLI says each bad block holds is compared with debugfs (icheck, ncheck, imap, testb) and xfs_db
// (ncheck, bmap, blockuse) on the plain image.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { tmpDir, PROJECT_ROOT } from '../testing/golden.js';
import { EXT4_TOOLS, ext4LuksVolume, ext4Volume, toolMissing, xfsVolume, XFS_TOOLS, type FsVolume } from '../testing/fs-volume.js';
import { formatVolume } from '../engine/commands/format.js';
import { openVolume } from '../engine/volume.js';
import { tagOffset } from '../engine/layout/geometry.js';
import type { CheckReport } from './report.js';
import type { FsMapItem, FsMapResult } from '../engine/fsmap/types.js';

const BIN = path.join(PROJECT_ROOT, 'bin', 'integrity-studio.js');

function cli(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function report(...args: string[]): CheckReport {
  const r = cli(...args);
  assert.equal(r.code, 4, r.err);
  return JSON.parse(r.out.trim().split('\n').pop()!) as CheckReport;
}

const at = (m: FsMapResult, sector: number): FsMapItem[] => m.items.filter((i) => i.ranges.some(([a, b]) => sector >= a && sector < b));
/** the answers, without what depends on how and when they were read */
const answers = (m: FsMapResult) => ({ ...m, stats: null });

/** every spoiled block named as debugfs names it */
function checkExt4(m: FsMapResult, v: FsVolume, luks = false): void {
  const s = v.spoiled;
  assert.equal(m.fs, 'ext4');
  assert.equal(m.fs_label, 'studio-test');
  const f = at(m, s.file.sector);
  assert.equal(f.length, 1);
  const file = f[0]!;
  if (luks) {
    // a LUKS2 sector failing authentication has no plaintext; the file's inode-table block fails too, so the owner
    // cannot be read: the mapper says so rather than guess
    assert.ok(file.kind === 'file' || file.kind === 'unmapped', JSON.stringify(file));
    if (file.kind === 'unmapped') assert.match(file.reason, /itself damaged/);
  } else {
    assert.ok(file.kind === 'file', JSON.stringify(file));
    assert.equal(file.inode, s.file.inode);
    assert.deepEqual([...file.paths].sort(), s.file.paths);
    assert.deepEqual(file.byte_ranges, [s.file.bytes]);
    assert.deepEqual(file.extents, [[s.file.sector, s.file.sector + 1, s.file.bytes[0]]]);
  }
  const d = at(m, s.dir.sector)[0]!;
  assert.ok(d.kind === 'metadata' && d.structure === 'ext4.directory', JSON.stringify(d));
  assert.equal(d.owner?.inode, s.dir.inode);
  assert.deepEqual(d.owner?.paths, s.dir.paths);
  const it = at(m, s.itable.sector)[0]!;
  assert.ok(it.kind === 'metadata' && it.structure === 'ext4.inode_table', JSON.stringify(it));
  if (!luks)
    assert.ok(
      it.inodes?.some((i) => i.inode === s.itable.inode && i.paths.includes('/docs/report.bin')),
      JSON.stringify(it.inodes),
    );
  assert.equal(at(m, s.free.sector)[0]?.kind, 'free');
}

describe('verify and scrub --map-files on a dm-integrity volume holding ext4', { skip: toolMissing(...EXT4_TOOLS) }, () => {
  let dir: string;
  let v: FsVolume;
  before(() => {
    dir = tmpDir('cli-fsmap-');
    v = ext4Volume(dir);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('verify --json --map-files: every bad block named as debugfs names it', () => {
    const r = report('verify', v.vol, '--json', '--map-files');
    assert.deepEqual(
      r.bad_sectors,
      [v.spoiled.file.sector, v.spoiled.dir.sector, v.spoiled.itable.sector, v.spoiled.free.sector].sort((a, b) => a - b),
    );
    assert.ok(r.mapping, r.mapping_error);
    checkExt4(r.mapping, v);
    assert.equal(r.mapping.files_damaged, 1);
    assert.equal(r.mapping.free_sectors, 1);
  });

  it('verify --map-files (text): the errors line counts files, then each file with its byte range, the structures, free space', () => {
    const r = cli('verify', v.vol, '--map-files');
    assert.equal(r.code, 4, r.err);
    assert.match(r.out, /^errors: data damaged in 1 file; 2 file-system structures damaged; 1 bad sector in free space \(harmless\)$/m);
    const s = v.spoiled;
    const fileLine = new RegExp(`^  /docs/(old/)?report(-link)?\\.bin  \\(inode ${s.file.inode}, regular, 204,800 bytes; also /docs/`, 'm');
    assert.match(r.out, fileLine);
    assert.match(r.out, new RegExp(`^      bytes 5,120–5,631  \\(sector ${s.file.sector.toLocaleString('en-US')}\\)$`, 'm'));
    assert.match(r.out, /^  ext4\.directory: .*\n      .*\n      of \/docs \(inode \d+\)\n      names it holds: note-0\.txt, .* \(42 in all\)$/m);
    assert.match(r.out, /^  ext4\.inode_table: /m);
    assert.match(r.out, /^free space \(1 sector: sector [\d,]+\):/m);
    // without the flag: no mapping
    assert.doesNotMatch(cli('verify', v.vol).out, /errors:/);
  });

  it('scrub --json --map-files gives the same mapping as verify; the text lists the file', () => {
    const ver = report('verify', v.vol, '--json', '--map-files');
    const scr = report('scrub', v.vol, '--json', '--map-files', '--reset');
    assert.equal(scr.command, 'scrub');
    assert.deepEqual(answers(scr.mapping!), answers(ver.mapping!));
    const text = cli('scrub', v.vol, '--map-files', '--reset');
    assert.equal(text.code, 4, text.err);
    assert.match(text.out, /^4 bad block\(s\) in sectors /m);
    assert.match(text.out, /^errors: data damaged in 1 file;/m);
    assert.match(text.out, /bytes 5,120–5,631/);
  });

  it('a volume without a file system: every bad block "could not map: no known file system"', () => {
    const vol = path.join(dir, 'nofs.img');
    formatVolume(vol, { size: 8 << 20 });
    const ro = openVolume(vol, { readOnly: true });
    const g = ro.geometry;
    ro.close();
    const fd = fs.openSync(vol, 'r+');
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, tagOffset(g, 100));
    b[0]! ^= 1;
    fs.writeSync(fd, b, 0, 1, tagOffset(g, 100));
    fs.closeSync(fd);
    const r = report('verify', vol, '--json', '--map-files');
    assert.equal(r.mapping?.fs, null);
    assert.equal(r.mapping?.items.length, 1);
    const i = r.mapping!.items[0]!;
    assert.ok(i.kind === 'unmapped');
    assert.match(i.reason, /^could not map: no known file system/);
    assert.match(cli('verify', vol, '--map-files').out, /^could not map:\n  could not map: no known file system/m);
  });
});

describe('verify --map-files on a dm-integrity volume holding XFS (mkfs.xfs -p)', { skip: toolMissing(...XFS_TOOLS) }, () => {
  let dir: string;
  before(() => {
    dir = tmpDir('cli-fsmap-xfs-');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('the file block and the free block named as xfs_db ncheck/bmap/blockuse name them', () => {
    const x = xfsVolume(dir);
    assert.equal(x.spoiled.file.type, 'data');
    // blockget's free1 / free2: free in one or in both free-space btrees
    assert.match(x.spoiled.free.type, /^free[12]$/);
    const r = report('verify', x.vol, '--json', '--map-files');
    const m = r.mapping!;
    assert.equal(m.fs, 'xfs');
    const f = at(m, x.spoiled.file.sector)[0]!;
    assert.ok(f.kind === 'file', JSON.stringify(f));
    assert.equal(f.inode, x.spoiled.file.inode);
    assert.deepEqual(f.paths, x.spoiled.file.paths);
    assert.deepEqual(f.byte_ranges, [x.spoiled.file.bytes]);
    assert.equal(at(m, x.spoiled.free.sector)[0]?.kind, 'free');
    const text = cli('verify', x.vol, '--map-files');
    assert.match(text.out, /^errors: data damaged in 1 file; 1 bad sector in free space \(harmless\)$/m);
    assert.match(text.out, /^  \/data\/big\.bin  \(inode \d+, regular, 307,200 bytes\)\n      bytes 5,120–5,631/m);
  });
});

describe('verify and scrub --map-files on a LUKS2 volume holding ext4 (through dm-crypt, with the key)', { skip: toolMissing(...EXT4_TOOLS) }, () => {
  let dir: string;
  let v: FsVolume & { keyFile: string };
  before(async () => {
    dir = tmpDir('cli-fsmap-luks-');
    v = await ext4LuksVolume(dir);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('the failing sectors named; a structure in a failing sector is itself damaged', () => {
    const r = report('verify', v.vol, '--key-file', v.keyFile, '--json', '--map-files');
    assert.equal(r.type, 'luks2');
    assert.equal(r.mismatches, 4);
    checkExt4(r.mapping!, v, true);
    const s = report('scrub', v.vol, '--key-file', v.keyFile, '--json', '--map-files', '--reset');
    assert.deepEqual(answers(s.mapping!), answers(r.mapping!));
    const text = cli('scrub', v.vol, '--key-file', v.keyFile, '--map-files', '--reset');
    assert.equal(text.code, 4, text.err);
    assert.match(text.out, /^errors: /m);
    assert.match(text.out, /^  ext4\.directory: /m);
  });
});
