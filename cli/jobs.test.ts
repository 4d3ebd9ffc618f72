// The `recalc` and `scrub` commands as a user runs them (real processes, real files): SIGINT pauses with the
// position persisted, exit 0 and a resume hint; `status --json` shows the recalculation and a paused scrub;
// `scrub --json` exits 4 and names exactly the corrupted sectors; "nothing to recalculate" is one clear line.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { formatVolume } from '../engine/commands/format.js';
import { openVolume } from '../engine/volume.js';
import { dataSector } from '../engine/layout/geometry.js';
import { SECTOR_SIZE } from '../engine/layout/superblock.js';
import { PROJECT_ROOT, tmpDir } from '../testing/golden.js';
import { startJob } from '../engine/jobs/index.js';
import { mkDirtyBitmapVolume } from '../testing/mkvolume.js';

const dir = tmpDir('cli-jobs-');
const BIN = path.join(PROJECT_ROOT, 'bin', 'integrity-studio.js');

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function status(img: string, ...o: string[]): Record<string, unknown> & { scrub: Record<string, unknown> | null } {
  const r = cli(['status', img, '--json', ...o]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('recalc CLI: SIGINT pauses at a chunk boundary, exits 0 with a resume hint; status shows it; the rerun finishes clean', async () => {
  const img = path.join(dir, 'sigint.img');
  const fill = Buffer.alloc(128 << 20);
  crypto.randomFillSync(fill);
  fs.writeFileSync(img, fill);
  // --max-rate keeps a 128 MiB recalculation long enough to be interrupted after its first report
  formatVolume(img, { noWipe: true, integrityRecalculate: true, force: true, integrity: 'sha256' });
  const child = spawn(process.execPath, [BIN, 'recalc', img, '--integrity', 'sha256', '--progress-json', '--max-rate', '64'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let signalled = false;
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (!signalled && /"state":"running","position_sector":[1-9]/.test(out)) {
      signalled = true;
      child.kill('SIGINT');
    }
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  assert.ok(signalled, 'saw a running progress line');
  assert.equal(code, 0, err);
  assert.match(err, /paused at sector \d+ of \d+.*Run the same command again to resume/s);
  const lines = out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  for (const l of lines)
    for (const k of ['job', 'state', 'position_sector', 'total_sectors', 'bytes_per_second', 'eta_ms', 'mismatches'])
      assert.ok(k in l, `${k} in ${JSON.stringify(l)}`);
  const last = lines[lines.length - 1]!;
  assert.equal(last.state, 'paused');
  // it did work before the pause: its last line has the run's (positive) rate and no ETA
  assert.ok((last.position_sector as number) > 0 && (last.bytes_per_second as number) > 0, `rate ${last.bytes_per_second} at sector ${last.position_sector}`);
  assert.equal(last.eta_ms, null);
  const st = status(img, '--integrity', 'sha256');
  assert.equal(st.recalculating, true);
  assert.equal(st.recalc_sector, last.position_sector);
  assert.ok((st.recalc_sector as number) > 0 && (st.recalc_sector as number) < (st.provided_data_sectors as number));
  // resume to the end: every block verifies, and the flag stays set with recalc_sector at the end (as the kernel)
  const again = cli(['recalc', img, '--integrity', 'sha256']);
  assert.equal(again.code, 0, again.stderr);
  const fin = status(img, '--integrity', 'sha256');
  assert.equal(fin.recalculating, true);
  assert.equal(fin.recalc_sector, fin.provided_data_sectors);
  const v = cli(['verify', img, '--integrity', 'sha256']);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  // a volume not recalculating: one clear line, exit 1
  const fresh = path.join(dir, 'fresh.img');
  formatVolume(fresh, { size: 8 << 20, force: true });
  const none = cli(['recalc', fresh]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /^integrity-studio: .*nothing to recalculate.*\n$/);
});

test('scrub CLI: a paused scrub shows in status --json; the rerun resumes, exits 4 and --json names the bad sectors', async () => {
  const img = path.join(dir, 'scrub.img');
  formatVolume(img, { size: 64 << 20, force: true, integrity: 'sha256' });
  const vol = openVolume(img, { readOnly: true, integrity: 'sha256' });
  const g = vol.geometry;
  vol.close();
  const victims = [5, 40000, g.provided_data_sectors - 1];
  const fd = fs.openSync(img, 'r+');
  for (const s of victims) fs.writeSync(fd, Buffer.from([0xa5]), 0, 1, dataSector(g, s) * SECTOR_SIZE + 100);
  fs.closeSync(fd);
  const h = startJob({ kind: 'scrub', device: img, volume: { integrity: 'sha256' }, maxBytesPerSecond: 32 << 20 }, (p) => {
    if (p.state === 'running') void h.pause();
  });
  const paused = await h.finished;
  assert.equal(paused.state, 'paused');
  const st = status(img, '--integrity', 'sha256');
  assert.ok(st.scrub);
  assert.equal(st.scrub.state, 'paused');
  assert.equal(st.scrub.position_sector, paused.position_sector);
  const r = cli(['scrub', img, '--integrity', 'sha256', '--json']);
  assert.equal(r.code, 4, r.stderr);
  const res = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(res.state, 'done');
  assert.equal(res.mismatches, victims.length);
  assert.deepEqual(res.bad_sectors, victims);
  assert.deepEqual(
    res.bad_ranges,
    victims.map((s) => [s, s + 1]),
  );
  assert.equal(status(img, '--integrity', 'sha256').scrub?.state, 'done');
});

test('--max-rate that is not a speed is one usage error naming the option; nothing is written', () => {
  const img = path.join(dir, 'rate-usage.img');
  formatVolume(img, { size: 8 << 20, force: true });
  const before = crypto.createHash('sha256').update(fs.readFileSync(img)).digest('hex');
  for (const bad of ['0', '-5', 'fast', '1e3']) {
    const r = cli(['scrub', img, `--max-rate=${bad}`]);
    assert.equal(r.code, 2, `${bad}: ${r.stderr}`);
    assert.match(r.stderr, /--max-rate takes a speed in MiB\/s/);
    assert.equal(r.stderr.trim().split('\n').length <= 2, true, r.stderr);
  }
  assert.equal(crypto.createHash('sha256').update(fs.readFileSync(img)).digest('hex'), before);
  assert.equal(fs.existsSync(img + '.scrub.json'), false);
});

test('recalc of a bitmap-mode volume keeps its --bitmap-sectors-per-bit: only the dirty region is recalculated, a corrupted block elsewhere stays bad', () => {
  const img = path.join(dir, 'bitmap-spb.img');
  // left dirty by a crash with 8 sectors per bitmap bit (not the default 32768): only sectors 0-7 are dirty
  mkDirtyBitmapVolume(img, 16 << 20, 8, [0]);
  const vol = openVolume(img, { readOnly: true });
  const g = vol.geometry;
  vol.close();
  const victim = 8192; // 4 MiB in: far from the dirty region
  const fd = fs.openSync(img, 'r+');
  fs.writeSync(fd, Buffer.from([0x5a]), 0, 1, dataSector(g, victim) * SECTOR_SIZE + 7);
  fs.closeSync(fd);
  const r = cli(['recalc', img, '--integrity-bitmap-mode', '--bitmap-sectors-per-bit', '8']);
  assert.equal(r.code, 0, r.stderr);
  // opened with the default granularity instead, the bitmap would be redone at 32768 and every tag recomputed,
  // giving the corrupted block a fresh valid tag
  const after = openVolume(img, { readOnly: true });
  try {
    assert.equal(after.sb.log2_blocks_per_bitmap_bit, 3, 'the bitmap granularity is the one given');
  } finally {
    after.close();
  }
  const v = cli(['verify', img, '--json']);
  assert.equal(v.code, 4, v.stderr);
  assert.deepEqual(JSON.parse(v.stdout).bad_sectors, [victim]);
});
