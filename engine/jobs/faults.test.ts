// I/O faults reported for what they are (engine/io/fault.ts FaultDevice, and a real full tmpfs):
//  - EIO on given sectors during a scrub: counted and listed as read errors, apart from tag mismatches; the scrub
//    goes on past them to the end; the state file keeps them
//  - a device that stops answering mid-scrub: the job fails with a clear error, its position saved, and resumes
//  - ENOSPC saving the state file (a real tmpfs filled up): the old state file and its position stay as they were,
//    no temporary is left, the message says so
//  - ENOSPC during format (real tmpfs): the new image is removed, the message says so
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkVolume } from '../../testing/mkvolume.js';
import { skipUnless } from '../../testing/unavailable.js';
import { FaultDevice } from '../io/fault.js';
import { openVolume, openVolumeOn } from '../volume.js';
import { dataSector } from '../layout/geometry.js';
import { runScrub, type JobControl, type RawProgress } from './run.js';
import { jobStatePath, readJobStateAt } from './state.js';
import { formatVolume } from '../commands/format.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/integrity-studio.js');

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'is-faults-'));
}
const ctl = (stopAfter = Infinity): JobControl & { last: RawProgress | null } => {
  let n = 0;
  const c = {
    last: null as RawProgress | null,
    shouldStop: () => ++n >= stopAfter,
    progress: (p: RawProgress) => {
      c.last = p;
    },
  };
  return c;
};

function faultVolume(img: string): { dev: FaultDevice; open: () => ReturnType<typeof openVolume> } {
  const dev = new FaultDevice(fs.readFileSync(img), path.basename(img));
  return { dev, open: () => openVolumeOn(dev, null, img, { readOnly: true }) };
}

test('EIO on given sectors: read errors counted and listed apart from tag mismatches; the scrub continues to the end', () => {
  const dir = tmp();
  const img = path.join(dir, 'v.img');
  mkVolume(img, { sizeBytes: 16 << 20, tagSize: 4 });
  // a tag mismatch at logical sector 3000 (its data changed on disk)
  const g = openVolume(img).geometry;
  const fd = fs.openSync(img, 'r+');
  fs.writeSync(fd, Buffer.from('corrupt'), 0, 7, dataSector(g, 3000) * 512 + 10);
  fs.closeSync(fd);
  const { dev, open } = faultVolume(img);
  // bad disk sectors under logical sectors 100..103 and 20000
  dev.failReads(dataSector(g, 100), dataSector(g, 100) + 4).failReads(dataSector(g, 20000), dataSector(g, 20000) + 1);
  const out = runScrub({ kind: 'scrub', device: img, reset: true }, ctl(), open());
  assert.equal(out.done, true, 'went on to the end');
  assert.equal(out.position, g.provided_data_sectors);
  assert.equal(out.read_errors, 5);
  assert.deepEqual(out.damage?.read_error_ranges, [
    [100, 104],
    [20000, 20001],
  ]);
  assert.equal(out.mismatches, 1, 'the mismatch is a mismatch, not a read error');
  assert.deepEqual(out.damage?.bad_ranges, [[3000, 3001]]);
  assert.equal(out.checked_blocks, g.provided_data_sectors - 5, 'unreadable blocks are not counted as checked');
  assert.ok(dev.injected.eio >= 2);
  const st = readJobStateAt(jobStatePath(img, 'scrub'))!;
  assert.equal(st.read_errors, 5);
  assert.deepEqual(st.damage?.summary.read_error_ranges, [
    [100, 104],
    [20000, 20001],
  ]);
  assert.equal(st.mismatches, 1);
});

test('a device that stops answering mid-scrub: the job fails naming it, the position is saved, a resume finishes', () => {
  const dir = tmp();
  const img = path.join(dir, 'v.img');
  mkVolume(img, { sizeBytes: 24 << 20, tagSize: 4 });
  const { dev, open } = faultVolume(img);
  const vol = open();
  dev.vanishAfterReads = dev.reads + 5; // two runs (data + tags each) read, then the device is gone
  assert.throws(
    () => runScrub({ kind: 'scrub', device: img, reset: true }, ctl(), vol),
    (e: Error) => {
      assert.match(e.message, /the device stopped answering reads at sector \d+ \(EIO: it no longer reads even its first sector/);
      assert.match(e.message, /the scrub stopped and its position is saved at sector (\d+): resume it once the device is back/);
      return true;
    },
  );
  const st = readJobStateAt(jobStatePath(img, 'scrub'))!;
  assert.ok(st.position_sector > 0 && st.position_sector < vol.geometry.provided_data_sectors, `saved part way: ${st.position_sector}`);
  assert.equal(st.read_errors, 0, 'a vanished device is not a pile of read errors');
  assert.equal(st.runs?.at(-1)?.result, 'failed');
  // back: the scrub resumes from the saved position and finishes clean
  const again = runScrub({ kind: 'scrub', device: img }, ctl(), openVolume(img, { readOnly: true }));
  assert.equal(again.start, st.position_sector);
  assert.equal(again.done, true);
  assert.equal(again.mismatches, 0);
  assert.equal(again.read_errors, 0);
});

test('a real image file cut short under a scrub (the native read-and-hash path): the blocks past its new end are read errors, the rest verified', () => {
  const dir = tmp();
  const img = path.join(dir, 'v.img');
  mkVolume(img, { sizeBytes: 16 << 20, tagSize: 4 });
  const vol = openVolume(img, { readOnly: true });
  const g = vol.geometry;
  // the file now ends inside the data of the last 4 MiB chunk: the reads there come back short
  const cut = dataSector(g, g.provided_data_sectors - 1000);
  fs.truncateSync(img, cut * 512);
  const out = runScrub({ kind: 'scrub', device: img, reset: true }, ctl(), vol);
  assert.equal(out.done, true);
  assert.equal(out.mismatches, 0);
  assert.equal(out.read_errors, 1000);
  assert.deepEqual(out.damage?.read_error_ranges, [[g.provided_data_sectors - 1000, g.provided_data_sectors]]);
  assert.equal(out.checked_blocks, g.provided_data_sectors - 1000);
});

function smallTmpfs(t: TestContext, size: string): string | null {
  const d = tmp();
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', d], { encoding: 'utf8' });
  if (skipUnless(t, r.status !== 0 ? `cannot mount a small tmpfs here (${(r.stderr ?? r.error?.message ?? '').trim()}): the ENOSPC case needs root` : null))
    return null;
  return d;
}
/** fills the small tmpfs: the 64 MiB write must end in ENOSPC (anything else is this test's own failure) */
const fill = (d: string) => assert.throws(() => fs.writeFileSync(path.join(d, 'fill'), Buffer.alloc(64 << 20)), { code: 'ENOSPC' });

test('ENOSPC saving the scrub state (a real full tmpfs): the saved position stays as it was and the error says so', (t) => {
  const state = smallTmpfs(t, '256k');
  if (!state) return;
  const prev = process.env.INTEGRITY_STUDIO_STATE_DIR;
  process.env.INTEGRITY_STUDIO_STATE_DIR = state;
  try {
    const img = path.join(tmp(), 'v.img');
    mkVolume(img, { sizeBytes: 16 << 20, tagSize: 4 });
    const first = runScrub({ kind: 'scrub', device: img, reset: true }, ctl(1));
    assert.equal(first.done, false);
    const file = jobStatePath(img, 'scrub');
    const before = fs.readFileSync(file, 'utf8');
    fill(state);
    assert.throws(
      () => runScrub({ kind: 'scrub', device: img }, ctl()),
      new RegExp(
        `could not save the scrub state to .*: no space left on device \\(the file system is full\\); the saved position is still sector ${first.position} \\(as it was\\)`,
      ),
    );
    assert.equal(fs.readFileSync(file, 'utf8'), before, 'the old state file is untouched');
    assert.deepEqual(
      fs.readdirSync(state).filter((f) => f.endsWith('.tmp')),
      [],
      'no temporary left',
    );
  } finally {
    if (prev === undefined) delete process.env.INTEGRITY_STUDIO_STATE_DIR;
    else process.env.INTEGRITY_STUDIO_STATE_DIR = prev;
    spawnSync('umount', [state]);
  }
});

test('ENOSPC during format (a real tmpfs): refused before writing when it cannot fit; when the space goes during the wipe, the new image is removed and the error says so', (t) => {
  const d = smallTmpfs(t, '12m');
  if (!d) return;
  try {
    const img = path.join(d, 'v.img');
    // 16 MiB cannot fit in 12: refused by the free-space check, before the first byte
    assert.throws(() => formatVolume(img, { size: 16 << 20 }), /not enough free space to wipe .*v\.img/);
    assert.equal(fs.existsSync(img), false);
    // 8 MiB fits when checked, but another writer takes the space once the superblock is written (as a busy file
    // system can): the wipe runs out part way
    assert.throws(
      () =>
        formatVolume(img, {
          size: 8 << 20,
          onFormatted: () => {
            try {
              fs.writeFileSync(path.join(d, 'filler'), Buffer.alloc(12 << 20));
            } catch {
              /* filled */
            }
          },
        }),
      /format of .*v\.img failed: no space left on device \(the file system holding it is full\); the new image was removed, nothing is left behind/,
    );
    assert.equal(fs.existsSync(img), false);
  } finally {
    spawnSync('umount', [d]);
  }
});

test('a key file that never ends (/dev/zero) or is not a file is refused after a bounded read, not read forever', async () => {
  const { readKeyFile } = await import('../volume.js');
  assert.throws(() => readKeyFile('/dev/zero'), /key file \/dev\/zero holds more than 4096 bytes: not a key file/);
  assert.equal(readKeyFile('/dev/zero', 32).length, 32);
  assert.throws(() => readKeyFile(os.tmpdir()), /is not a regular file/);
});

test('a real loop device that disappears mid-scrub (its capacity drops to 0): the CLI scrub fails naming it, position saved', async (t) => {
  const dir = tmp();
  const img = path.join(dir, 'lv.img');
  const f = spawnSync(process.execPath, [BIN, 'format', img, '--size', '512M', '--integrity', 'sha256', '--batch-mode'], { encoding: 'utf8' });
  assert.equal(f.status, 0, f.stderr);
  const l = spawnSync('losetup', ['-f', '--show', img], { encoding: 'utf8' });
  if (skipUnless(t, l.status !== 0 ? `losetup unavailable here (${(l.stderr ?? l.error?.message ?? '').trim()})` : null)) return;
  const loop = l.stdout.trim();
  try {
    const env = { ...process.env, INTEGRITY_STUDIO_STATE_DIR: path.join(dir, 'state') };
    const child = spawn(process.execPath, [BIN, 'scrub', loop, '--integrity', 'sha256', '--progress-json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d) => {
      err += d;
    });
    const exit = new Promise<number | null>((r) => child.on('exit', r));
    // once it is under way, the device goes away under it
    await new Promise<void>((r) => child.stdout!.once('data', () => r()));
    fs.truncateSync(img, 0);
    spawnSync('losetup', ['-c', loop]);
    assert.equal(await exit, 1);
    assert.match(
      err,
      new RegExp(
        `${loop}: the device stopped answering reads at sector \\d+ \\(\\w+: it no longer reads even its first sector .*\\); the scrub stopped and its position is saved at sector (\\d+): resume it once the device is back`,
      ),
    );
    const saved = Number(/position is saved at sector (\d+)/.exec(err)![1]);
    const st = readJobStateAt(jobStatePath(loop, 'scrub').replace(/^.*\//, path.join(dir, 'state') + '/'))!;
    assert.equal(st.position_sector, saved);
    assert.equal(st.read_errors, 0);
  } finally {
    spawnSync('losetup', ['-d', loop]);
  }
});
