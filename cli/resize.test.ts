// resize on images: grow with recalculation / --wipe, shrink, detached metadata, the keyed-hash rule; the
// superblock ends as the kernel leaves it (checked against Linux 6.1/6.12/7.2 in kernels.oracle.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { main, type Io } from './main.js';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (s) => (out += s), err: (s) => (err += s), stdout: process.stdout };
  const code = await main(argv, io);
  return { code, out, err };
}
import { tmpDir } from '../testing/golden.js';
import { readSuperblock } from '../engine/volume.js';
import { FileDevice } from '../engine/io/device.js';

const dir = tmpDir('resize-');
const sbOf = (p: string) => {
  const d = FileDevice.open(p, { readOnly: true });
  try {
    return readSuperblock(d);
  } finally {
    d.close();
  }
};

async function fresh(name: string, mib: number, extra: string[] = []): Promise<{ img: string; data: Buffer }> {
  const img = path.join(dir, name);
  fs.rmSync(img, { force: true });
  assert.equal((await run(['format', img, '--size', `${mib}M`, '--batch-mode', ...extra])).code, 0);
  const data = crypto.randomBytes(1 << 20);
  const inp = path.join(dir, `${name}.in`);
  fs.writeFileSync(inp, data);
  const w = await run(['write', img, '--offset', '0', '--input', inp, ...extra.filter((a) => a !== '--sector-size' && a !== '4096')]);
  assert.equal(w.code, 0, w.err);
  return { img, data };
}

async function verifyAll(img: string, args: string[] = []) {
  const v = await run(['verify', img, ...args, '--json']);
  return JSON.parse(v.out);
}

test('grow after the image grew: provided_data_sectors as the kernel computes it, new area recalculated, superblock left recalculating at the end (as 6.1–7.2 leave it)', async () => {
  const { img, data } = await fresh('grow.img', 8);
  fs.truncateSync(img, 12 << 20);
  const r = await run(['resize', img, '--json']);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out.trim().split('\n').pop()!);
  assert.equal(j.old_provided_data_sectors, 15944);
  assert.equal(j.new_provided_data_sectors, 24136); // 7.2's resize of the same 8 → 12 MiB device
  const sb = sbOf(img);
  assert.equal(sb.provided_data_sectors, 24136);
  assert.ok(sb.flags & 0x2);
  assert.equal(sb.recalc_sector, 24136);
  const v = await verifyAll(img);
  assert.equal(v.mismatches, 0);
  assert.equal(v.checked_blocks, 24136);
  const back = await run(['read', img, '--length', String(1 << 20), '--output', path.join(dir, 'g.out')]);
  assert.equal(back.code, 0);
  assert.ok(fs.readFileSync(path.join(dir, 'g.out')).equals(data));
});

test('grow with --wipe to a --device-size: new area zeros with valid tags, no recalculation flag; shrink truncates the image', async () => {
  const { img } = await fresh('wipe.img', 8, ['--integrity', 'sha256']);
  const r = await run(['resize', img, '--integrity', 'sha256', '--device-size', '10MiB', '--wipe']);
  assert.equal(r.code, 0, r.err);
  let sb = sbOf(img);
  assert.equal(sb.provided_data_sectors, 20480);
  assert.equal(sb.flags & 0x2, 0);
  const v = await verifyAll(img, ['--integrity', 'sha256']);
  assert.equal(v.mismatches, 0);
  assert.equal(v.checked_blocks, 20480);
  const s = await run(['resize', img, '--integrity', 'sha256', '--size', '8192']);
  assert.equal(s.code, 0, s.err);
  sb = sbOf(img);
  assert.equal(sb.provided_data_sectors, 8192);
  assert.ok(fs.statSync(img).size < 10 << 20);
  assert.equal((await verifyAll(img, ['--integrity', 'sha256'])).mismatches, 0);
});

test('detached metadata: the data device sets the size; a keyed hash without journal MAC grows only with --wipe (the kernel refuses its recalculation)', async () => {
  const meta = path.join(dir, 'meta.img');
  const data = path.join(dir, 'data.img');
  const key = path.join(dir, 'k');
  fs.writeFileSync(key, crypto.randomBytes(32));
  fs.writeFileSync(meta, Buffer.alloc(1 << 20));
  fs.writeFileSync(data, Buffer.alloc(4 << 20));
  const kargs = ['--integrity', 'hmac-sha256', '--integrity-key-file', key, '--integrity-key-size', '32'];
  assert.equal((await run(['format', meta, '--data-device', data, ...kargs, '--batch-mode'])).code, 0);
  fs.truncateSync(data, 6 << 20);
  const before = fs.readFileSync(meta);
  const no = await run(['resize', meta, '--data-device', data, ...kargs]);
  assert.equal(no.code, 1);
  assert.match(no.err, /--wipe/);
  assert.ok(fs.readFileSync(meta).equals(before), 'refused before writing');
  const yes = await run(['resize', meta, '--data-device', data, ...kargs, '--wipe']);
  assert.equal(yes.code, 0, yes.err);
  assert.equal(sbOf(meta).provided_data_sectors, 12288);
  const v = await verifyAll(meta, ['--data-device', data, ...kargs]);
  assert.equal(v.mismatches, 0);
  assert.equal(v.checked_blocks, 12288);
});

test('grow to a --device-size smaller than the file: the image ends where the volume ends (the kernel would otherwise take the rest unrecalculated)', async () => {
  const { img } = await fresh('trim.img', 8);
  fs.truncateSync(img, 12 << 20);
  const r = await run(['resize', img, '--device-size', '10MiB', '--wipe']);
  assert.equal(r.code, 0, r.err);
  const sb = sbOf(img);
  assert.equal(sb.provided_data_sectors, 20480);
  assert.ok(fs.statSync(img).size < 11 << 20, `image is ${fs.statSync(img).size} bytes`);
  assert.equal((await verifyAll(img)).mismatches, 0);
  // and nothing to do the second time
  const again = await run(['resize', img, '--device-size', '10MiB']);
  assert.match(again.out, /nothing to do/);
});
