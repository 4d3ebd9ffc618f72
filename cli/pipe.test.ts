// Every command that writes data to standard output, through a real pipe whose reader is slow (the pipe fills, a
// write takes part of a buffer and then EAGAIN): the bytes that come out of the pipe are all of them, the same as
// the command writes to a file (or to a fast reader), and the exit status is the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { PROJECT_ROOT, tmpDir } from '../testing/golden.js';
import { formatVolume } from '../engine/commands/format.js';
import { openVolume } from '../engine/volume.js';
import { dataSector } from '../engine/layout/geometry.js';

const BIN = path.join(PROJECT_ROOT, 'bin', 'integrity-studio.js');
const dir = tmpDir('cli-pipe-');
const env = { ...process.env, INTEGRITY_STUDIO_STATE_DIR: path.join(dir, 'state') };
const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

/** the command's stdout read through `| (sleep 0.3; cat)`: a pipe its writer fills before the reader starts */
function throughSlowPipe(args: string[]): { status: number; out: Buffer } {
  const quoted = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  // the command's exit status, kept past the pipe (sh has no pipefail): written to fd 3
  const r = spawnSync('sh', ['-c', `{ ${quoted}; echo $? >&3; } 3>"${dir}/status" | { sleep 0.3; cat; }`], { env, maxBuffer: 256 << 20 });
  return { status: Number(fs.readFileSync(path.join(dir, 'status'), 'utf8')), out: r.stdout };
}

function direct(args: string[]): { status: number; out: Buffer } {
  const r = spawnSync(process.execPath, [BIN, ...args], { env, maxBuffer: 256 << 20 });
  return { status: r.status ?? -1, out: r.stdout };
}

test('read, verify --json, scrub --json, status --json, dump, luks-dump and a LUKS2 read: all of it through a slow pipe', () => {
  const img = path.join(dir, 'v.img');
  formatVolume(img, { size: 24 << 20, force: true });
  // data that is not all zeros, and bad blocks enough for a long JSON list
  const w = openVolume(img, { readOnly: true, superblockOnly: true });
  const g = w.geometry;
  w.close();
  const fd = fs.openSync(img, 'r+');
  for (let s = 0; s < 40000; s += 8) fs.writeSync(fd, Buffer.from([0x33]), 0, 1, dataSector(g, s) * 512 + 1);
  fs.closeSync(fd);

  const file = path.join(dir, 'read.out');
  const toFile = direct(['read', img, '--continue-on-error', '--output', file]);
  assert.equal(toFile.status, 4);
  const whole = fs.readFileSync(file);
  assert.equal(whole.length, g.provided_data_sectors * 512);
  const piped = throughSlowPipe(['read', img, '--continue-on-error']);
  assert.equal(piped.status, 4);
  assert.equal(piped.out.length, whole.length, 'read: every byte came through the pipe');
  assert.equal(sha(piped.out), sha(whole));

  for (const args of [
    ['verify', img, '--json'],
    ['status', img, '--json'],
    ['dump', img],
    ['dump', img, '--json'],
  ]) {
    const a = direct(args),
      b = throughSlowPipe(args);
    assert.equal(b.status, a.status, args.join(' '));
    assert.ok(a.out.length > 0);
    assert.equal(sha(b.out), sha(a.out), `${args.join(' ')}: ${b.out.length} of ${a.out.length} bytes`);
  }
  const v = JSON.parse(throughSlowPipe(['verify', img, '--json']).out.toString()) as { bad_sectors: number[] };
  assert.equal(v.bad_sectors.length, 5000, 'the long JSON list is whole');
  const s = throughSlowPipe(['scrub', img, '--reset', '--json']);
  assert.equal(s.status, 4);
  assert.equal((JSON.parse(s.out.toString()) as { mismatches: number }).mismatches, 5000);

  // LUKS2: the decrypted volume (1.5 MB) through the pipe, as a file gets it
  const testdata = path.join(PROJECT_ROOT, 'testing', 'data', 'crypt');
  const m = (JSON.parse(fs.readFileSync(path.join(testdata, 'manifest.json'), 'utf8')) as { images: Array<{ name: string; file: string }> }).images.find(
    (x) => x.name === 'gcm-512',
  )!;
  const luks = path.join(dir, 'l.img');
  fs.writeFileSync(luks, zlib.gunzipSync(fs.readFileSync(path.join(testdata, m.file))));
  const pw = path.join(dir, 'pw');
  fs.writeFileSync(pw, 'golden-pass');
  const lfile = path.join(dir, 'luks.out');
  assert.equal(direct(['read', luks, '--key-file', pw, '--output', lfile]).status, 0);
  const lwhole = fs.readFileSync(lfile);
  assert.ok(lwhole.length > 1 << 20);
  const lp = throughSlowPipe(['read', luks, '--key-file', pw]);
  assert.equal(lp.status, 0);
  assert.equal(lp.out.length, lwhole.length, 'LUKS2 read: every byte came through the pipe');
  assert.equal(sha(lp.out), sha(lwhole));
  for (const args of [
    ['luks-dump', luks],
    ['luks-dump', luks, '--json'],
    ['verify', luks, '--key-file', pw, '--json'],
  ]) {
    const a = direct(args),
      b = throughSlowPipe(args);
    assert.equal(b.status, a.status, args.join(' '));
    assert.equal(sha(b.out), sha(a.out), args.join(' '));
  }
});
