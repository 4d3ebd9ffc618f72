// What the dashboard says stays true when others act on a volume (issue: first contact): known damage stays while
// another process scans again, with that scan's live position; a scrub or recalculation whose process is killed is
// "interrupted" with what will be redone, and its run stays in the history; a result made on an image that changed
// since says so; a scrub started here is "checking" from its first snapshot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { EngineHost } from './engine-host.js';
import type { VolumeSnapshot } from '../engine/api.js';
import { PROJECT_ROOT, tmpDir } from '../testing/golden.js';
import { skipUnless } from '../testing/unavailable.js';
import { formatVolume } from '../engine/commands/format.js';
import { openVolume } from '../engine/volume.js';
import { dataSector } from '../engine/layout/geometry.js';

const BIN = path.join(PROJECT_ROOT, 'bin', 'integrity-studio.js');

async function until(host: EngineHost, id: string, ok: (v: VolumeSnapshot) => boolean, what: string, ms = 60_000): Promise<VolumeSnapshot> {
  const t0 = Date.now();
  for (;;) {
    const v = host.listVolumes().find((x) => x.id === id)!;
    if (ok(v)) return v;
    if (Date.now() - t0 > ms)
      throw new Error(
        `timed out waiting for ${what}: state ${v.state} ${v.conditions.join()} ${v.error} recalc ${JSON.stringify(v.jobs.recalc)} sb ${JSON.stringify(v.superblock)}`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** flips one byte of the data of logical sector `s` in the image (beside its tag: the block fails verification) */
function corrupt(img: string, sectors: number[]): void {
  const vol = openVolume(img, { readOnly: true, superblockOnly: true });
  const g = vol.geometry;
  vol.close();
  const fd = fs.openSync(img, 'r+');
  try {
    for (const s of sectors) {
      const at = dataSector(g, s) * 512 + 3;
      const b = Buffer.alloc(1);
      fs.readSync(fd, b, 0, 1, at);
      b[0]! ^= 0xff;
      fs.writeSync(fd, b, 0, 1, at);
    }
  } finally {
    fs.closeSync(fd);
  }
}

function cliJob(args: string[]): { child: ChildProcess; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.resume();
  child.stderr!.resume();
  return { child, exited: new Promise((r) => child.once('exit', (c) => r(c))) };
}

test("known damage stays visible while the CLI scrubs again, with the CLI scrub's live position and rate; killed, it is interrupted, not paused", async () => {
  const dir = tmpDir('truth-rescan-');
  const img = path.join(dir, 'v.img');
  formatVolume(img, { size: 64 << 20, force: true });
  const victims = [40000, 80000, 120000];
  corrupt(img, victims);
  const host = await EngineHost.create({ pollMs: 0 });
  try {
    const v = await host.addVolume({ path: img });
    host.startScrub(v.id);
    let s = await until(host, v.id, (x) => x.verification.scrub === 'finished', 'the first scrub');
    assert.equal(s.verification.bad_blocks, 3);
    // a new scrub from the command line, slowly (4 MiB/s over 64 MiB)
    const { child, exited } = cliJob(['scrub', img, '--reset', '--max-rate', '4', '--progress-json']);
    s = await until(host, v.id, (x) => x.verification.scrub === 'running' && x.verification.position_sector > 0, 'the CLI scrub to show its position', 30_000);
    assert.equal(s.state, 'checking');
    assert.equal(s.verification.running_elsewhere?.by, 'cli');
    assert.equal(s.verification.running_elsewhere?.pid, child.pid);
    assert.ok(s.verification.position_sector < victims[0]!, 'seen before it reached the first bad block');
    // the three known bad blocks are still known (found by the finished scrub, not checked again yet)
    assert.equal(s.verification.bad_blocks, 3, JSON.stringify(s.verification.bad_ranges));
    assert.deepEqual(
      s.bad_ranges,
      victims.map((x) => [x, x + 1]),
    );
    assert.equal(s.verification.carried_over?.bad_blocks, 3);
    assert.ok(s.conditions.includes('errors'), s.conditions.join());
    s = await until(host, v.id, (x) => (x.jobs.scrub?.bytes_per_second ?? 0) > 0, 'a rate for the CLI scrub', 10_000);
    assert.ok(s.jobs.scrub!.bytes_per_second < 8 * 1048576, `rate ${s.jobs.scrub!.bytes_per_second} near the 4 MiB/s limit`);
    assert.ok(s.jobs.scrub!.eta_ms !== null && s.jobs.scrub!.eta_ms > 0);
    // past the first bad block: found again by the new scrub, the other two still carried
    s = await until(host, v.id, (x) => x.verification.position_sector > victims[0]! + 2048, 'the CLI scrub past the first bad block', 40_000);
    assert.equal(s.verification.bad_blocks, 3);
    assert.equal(s.verification.carried_over?.bad_blocks, 2);
    // killed: no pause, no saved end of run; the host says interrupted and where it continues
    child.kill('SIGKILL');
    await exited;
    s = host.listVolumes()[0]!;
    assert.equal(s.verification.scrub, 'interrupted');
    assert.ok(s.conditions.includes('check-interrupted') && !s.conditions.includes('check-paused'), s.conditions.join());
    assert.equal(s.jobs.scrub?.state, 'interrupted');
    const saved = s.verification.interrupted!.saved_sector;
    assert.ok(saved > victims[0]!, `the position was saved as it went (${saved})`);
    assert.equal(s.verification.bad_blocks, 3);
    const run = s.runs.filter((r) => r.job === 'scrub').at(-1)!;
    assert.equal(run.result, 'interrupted');
    assert.equal(run.by, 'cli');
    assert.equal(run.to_sector, saved);
    // resumed here: the interrupted run is kept in the history and the scrub continues from the saved position
    host.resumeScrub(v.id);
    s = await until(host, v.id, (x) => x.verification.scrub === 'finished', 'the resumed scrub');
    assert.equal(s.verification.bad_blocks, 3);
    assert.deepEqual(
      s.bad_ranges,
      victims.map((x) => [x, x + 1]),
    );
    const runs = s.runs.filter((r) => r.job === 'scrub');
    assert.deepEqual(
      runs.map((r) => r.result),
      ['done', 'interrupted', 'done'],
    );
    assert.equal(runs[2]!.from_sector, saved, 'the resumed run starts where the interrupted one was saved');
    assert.ok(Date.parse(runs[2]!.started_at) > Date.parse(runs[1]!.started_at), 'the resumed run has its own start time');
  } finally {
    await host.close();
  }
});

test('a recalculation killed part way is interrupted: it continues from the superblock position, and says how far it had got', async () => {
  const dir = tmpDir('truth-recalc-');
  const img = path.join(dir, 'r.img');
  fs.writeFileSync(img, crypto.randomBytes(96 << 20));
  formatVolume(img, { noWipe: true, integrityRecalculate: true, force: true });
  const host = await EngineHost.create({ pollMs: 0 });
  try {
    const v = await host.addVolume({ path: img });
    assert.equal(v.state, 'recalc-pending', 'the superblock asks for recalculation and none ran: not started, not "paused"');
    const { child, exited } = cliJob(['recalc', img, '--max-rate', '24', '--progress-json']);
    let s = await until(
      host,
      v.id,
      (x) => x.state === 'recalculating' && (x.jobs.recalc?.position_sector ?? 0) > 2048,
      'the CLI recalculation to show',
      30_000,
    );
    assert.equal(s.jobs.recalc?.state, 'running');
    s = await until(host, v.id, (x) => (x.jobs.recalc?.position_sector ?? 0) > 12 * 2048, 'the recalculation past 12 MiB', 30_000);
    child.kill('SIGKILL');
    await exited;
    s = host.listVolumes()[0]!;
    assert.ok(s.conditions.includes('recalc-interrupted'), s.conditions.join());
    assert.equal(s.jobs.recalc?.state, 'interrupted');
    const run = s.runs.filter((r) => r.job === 'recalc').at(-1)!;
    assert.equal(run.result, 'interrupted');
    assert.equal(run.to_sector, s.superblock!.recalc_sector, 'it continues from the superblock position');
    assert.ok(run.reached_sector! >= 12 * 2048, `it had reached ${run.reached_sector}`);
    assert.ok(run.reached_sector! >= run.to_sector);
    host.resumeRecalc(v.id);
    s = await until(host, v.id, (x) => x.jobs.recalc?.state === 'done', 'the resumed recalculation');
    assert.deepEqual(
      s.runs.filter((r) => r.job === 'recalc').map((r) => r.result),
      ['interrupted', 'done'],
    );
  } finally {
    await host.close();
  }
});

test('a clean result is dated: one byte of data flipped behind the host\'s back makes it "changed since", never "clean"', async () => {
  const dir = tmpDir('truth-changed-');
  const img = path.join(dir, 'c.img');
  formatVolume(img, { size: 16 << 20, force: true });
  const host = await EngineHost.create({ pollMs: 0 });
  try {
    const v = await host.addVolume({ path: img });
    host.startScrub(v.id);
    let s = await until(host, v.id, (x) => x.verification.scrub === 'finished', 'the scrub');
    assert.equal(s.state, 'clean');
    assert.deepEqual(s.verification.changed_since, []);
    assert.equal(s.verification.change_detection, 'image');
    await new Promise((r) => setTimeout(r, 20)); // a new mtime
    corrupt(img, [100]);
    s = host.listVolumes()[0]!;
    assert.notEqual(s.state, 'clean');
    assert.ok(s.conditions.includes('changed') && !s.conditions.includes('clean'), s.conditions.join());
    assert.match(s.verification.changed_since.join(), /was modified/);
  } finally {
    await host.close();
  }
});

test('a scrub started here is "checking" from the first snapshot after Start, before any progress arrives', async () => {
  const dir = tmpDir('truth-checking-');
  const img = path.join(dir, 'k.img');
  formatVolume(img, { size: 32 << 20, force: true });
  let release: (() => void) | null = null;
  // a job that reports nothing until released: the snapshot must not fall back to "not checked"
  const host = await EngineHost.create({
    pollMs: 0,
    startJob: (spec) => {
      const finished = new Promise<never>(() => undefined);
      return {
        spec,
        pause: () =>
          new Promise((r) => {
            release = () =>
              r({
                job: 'scrub',
                state: 'paused',
                position_sector: 0,
                total_sectors: 1,
                start_sector: 0,
                bytes_per_second: 0,
                eta_ms: null,
                mismatches: 0,
                bad_ranges: [],
                journal: null,
              });
          }),
        finished,
      };
    },
  });
  const v = await host.addVolume({ path: img });
  host.startScrub(v.id);
  const s = host.listVolumes()[0]!;
  assert.equal(s.state, 'checking');
  assert.equal(s.verification.scrub, 'running');
  void release;
});

test('Create over an existing file asks first (ECONFIRM naming it, its size and contents) and writes nothing until confirmed', async () => {
  const dir = tmpDir('truth-create-');
  const img = path.join(dir, 'data.img');
  const data = crypto.randomBytes(10 << 20);
  fs.writeFileSync(img, data);
  const host = await EngineHost.create({ pollMs: 0 });
  try {
    await assert.rejects(host.createVolume({ path: img }), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'ECONFIRM');
      assert.match(e.message, new RegExp(`^Format file ${img} \\(10\\.0 MiB\\)\\? It holds data with no known signature .*everything on it is lost`));
      return true;
    });
    assert.ok(fs.readFileSync(img).equals(data), 'not a byte written');
    assert.equal(host.listVolumes().length, 0);
    const v = await host.createVolume({ path: img, force: true, noWipe: true });
    assert.equal(v.superblock!.version, 5);
    // the LUKS2 create asks the same way
    const other = path.join(dir, 'other.img');
    fs.writeFileSync(other, Buffer.alloc(20 << 20, 1));
    await assert.rejects(
      host.createLuksVolume({ path: other, integrity: 'aead', cipher: 'aes-gcm-random', secret: { passphrase: 'x' }, pbkdf: 'pbkdf2', pbkdfIterations: 1000 }),
      (e: Error & { code?: string }) => e.code === 'ECONFIRM' && /20\.0 MiB/.test(e.message),
    );
    assert.ok(fs.readFileSync(other).equals(Buffer.alloc(20 << 20, 1)));
  } finally {
    await host.close();
  }
});

test('Create with "Recalculate tags in the background" starts the recalculation; the badge never says "paused" for one that never ran', async () => {
  const dir = tmpDir('truth-create-recalc-');
  const img = path.join(dir, 'r.img');
  const host = await EngineHost.create({ pollMs: 0 });
  try {
    const v = await host.createVolume({ path: img, size: 32 << 20, noWipe: true, integrityRecalculate: true });
    assert.ok(
      ['recalculating'].includes(v.state) || v.jobs.recalc?.state === 'running' || v.jobs.recalc?.state === 'done',
      `${v.state} ${JSON.stringify(v.jobs.recalc)}`,
    );
    const s = await until(host, v.id, (x) => x.jobs.recalc?.state === 'done', 'the recalculation Create started');
    assert.ok(!s.conditions.includes('recalc-paused') && !s.conditions.includes('recalc-pending'), s.conditions.join());
    assert.equal(s.runs.filter((r) => r.job === 'recalc').at(-1)?.result, 'done');
  } finally {
    await host.close();
  }
});

test('Add and Create name what a path is: a folder, a character device, an ext4 image, a relative path — no internal error, nothing written', async (t) => {
  const dir = tmpDir('truth-add-');
  const host = await EngineHost.create({ pollMs: 0 });
  try {
    assert.throws(
      () => host.addVolume({ path: dir }),
      (e: Error) => e.message === `${dir} is a folder: give an image file or a block device` && !/internal/.test(e.message),
    );
    assert.throws(() => host.addVolume({ path: '/dev/null' }), { message: '/dev/null is a character device, not an image file or a block device' });
    assert.throws(() => host.addVolume({ path: 'relative.img' }), /Image or device must be an absolute path/);
    await assert.rejects(host.createVolume({ path: 'relative.img', size: 8 << 20 }), /Image path must be an absolute path/);
    assert.ok(!fs.existsSync(path.join(process.cwd(), 'relative.img')), "nothing made in the host's working folder");
    // an ext4 image made by mkfs.ext4: a subtest that skips with its reason where mkfs.ext4 is missing (fails under CI=true)
    await t.test('an ext4 image is named, untouched', async (st) => {
      const ext4 = path.join(dir, 'fs.img');
      fs.writeFileSync(ext4, '');
      fs.truncateSync(ext4, 16 << 20);
      const mk = (await import('node:child_process')).spawnSync('mkfs.ext4', ['-q', '-F', ext4], { encoding: 'utf8' });
      if (skipUnless(st, mk.error ? `mkfs.ext4 could not run (${mk.error.message}): apt-get install e2fsprogs` : null)) return;
      assert.equal(mk.status, 0, `mkfs.ext4: ${mk.stderr}`);
      const before = fs.readFileSync(ext4);
      assert.throws(() => host.addVolume({ path: ext4 }), {
        message: new RegExp(`^file ${ext4} \\(16\\.0 MiB\\) holds an ext4 filesystem: not a dm-integrity volume`),
      });
      assert.ok(fs.readFileSync(ext4).equals(before));
    });
    assert.equal(host.listVolumes().length, 0);
  } finally {
    await host.close();
  }
});
