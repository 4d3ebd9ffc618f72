// Blocks a scrub could not read (EIO) are mapped like bad ones (the host and the CLI map both kinds): an ext4 image
// made by mkfs.ext4 -d behind a FaultDevice whose reads of a file's block and of a directory block fail. The file's
// block is the file's (as debugfs icheck says), the directory's is the directory, and the path the unreadable
// directory would have given is said to be missing, with why.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { FaultDevice } from '../io/fault.js';
import { deviceSource, mapBadSectors, type SectorRange } from './index.js';
import { debugfs, icheck, pseudoRandom, run, tmpDir, toolMissing } from '../../testing/fsmap-tools.js';

describe('fsmap over a device with read errors', { skip: toolMissing('mkfs.ext4', 'debugfs') }, () => {
  let dir: string;
  before(() => {
    dir = tmpDir('fsmap-eio-');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('unreadable blocks are mapped: the file as icheck says, the directory block as a directory', () => {
    const tree = path.join(dir, 'tree');
    fs.mkdirSync(path.join(tree, 'd'), { recursive: true });
    fs.writeFileSync(path.join(tree, 'd/file.bin'), pseudoRandom(64 * 1024, 3));
    const img = path.join(dir, 'fs.img');
    run('mkfs.ext4', ['-q', '-F', '-b', '4096', '-d', tree, img, '8M']);
    const last = (cmd: string) => debugfs(img, [cmd]).trim().split('\n').pop()!.trim().split(/\s+/).map(Number);
    const fileBlk = last('blocks /d/file.bin')[2]!;
    const dirBlk = last('blocks /d')[0]!;
    const dev = new FaultDevice(fs.readFileSync(img), 'fs.img').failReads(fileBlk * 8, fileBlk * 8 + 8).failReads(dirBlk * 8, dirBlk * 8 + 8);
    const bad: SectorRange[] = [
      [fileBlk * 8, fileBlk * 8 + 8],
      [dirBlk * 8, dirBlk * 8 + 8],
    ];
    const r = mapBadSectors(deviceSource(dev), bad);
    const f = r.items.find((i) => i.ranges.some(([a]) => a === fileBlk * 8))!;
    assert.ok(f.kind === 'file', JSON.stringify(f));
    assert.equal(f.inode, icheck(img, [fileBlk]).get(fileBlk));
    assert.deepEqual(f.byte_ranges, [[8192, 12288]]);
    const d = r.items.find((i) => i.ranges.some(([a]) => a === dirBlk * 8))!;
    assert.ok(d.kind === 'metadata' && d.structure === 'ext4.directory', JSON.stringify(d));
    // the file's name was in the unreadable directory block: said, not guessed
    assert.deepEqual(f.paths, []);
    assert.match(f.path_error ?? '', /reading block 0 of directory inode \d+ failed: EIO/);
  });
});
