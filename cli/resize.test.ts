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

/** fills bytes [from, to) of a file with random bytes: what a grown device held before the resize */
function junk(file: string, from: number, to: number): void {
  if (fs.statSync(file).size < to) fs.truncateSync(file, to);
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, crypto.randomBytes(to - from), 0, to - from, from);
  fs.closeSync(fd);
}

/** the volume's sectors [from, to) as `read` returns them (verified) */
async function readSectors(img: string, from: number, to: number, args: string[] = []): Promise<Buffer> {
  const out = path.join(dir, `${path.basename(img)}.${from}-${to}.out`);
  const r = await run(['read', img, ...args, '--offset', String(from * 512), '--length', String((to - from) * 512), '--output', out]);
  assert.equal(r.code, 0, r.err);
  return fs.readFileSync(out);
}

async function verifyAll(img: string, args: string[] = []) {
  const v = await run(['verify', img, ...args, '--json']);
  return JSON.parse(v.out);
}

test('grow after the image grew: provided_data_sectors as the kernel computes it, new area recalculated, superblock left recalculating at the end (as 6.1–7.2 leave it)', async () => {
  const { img, data } = await fresh('grow.img', 8);
  junk(img, 8 << 20, 12 << 20); // what the grown device held: recalculated, not wiped
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
  // the new sectors keep what the device held (random bytes: no all-zero sector), their tags computed over it
  const grown = await readSectors(img, 15944, 24136);
  for (let s = 0; s < grown.length; s += 512)
    assert.ok(!grown.subarray(s, s + 512).equals(Buffer.alloc(512)), `new sector ${15944 + s / 512} kept its contents`);
  const back = await run(['read', img, '--length', String(1 << 20), '--output', path.join(dir, 'g.out')]);
  assert.equal(back.code, 0);
  assert.ok(fs.readFileSync(path.join(dir, 'g.out')).equals(data));
});

test('grow with --wipe to a --device-size: new area zeros with valid tags, no recalculation flag; shrink truncates the image', async () => {
  const { img, data } = await fresh('wipe.img', 8, ['--integrity', 'sha256']);
  const old = sbOf(img).provided_data_sectors;
  junk(img, 8 << 20, 10 << 20); // the device grew with old contents in it: the wipe must zero what becomes data
  const r = await run(['resize', img, '--integrity', 'sha256', '--device-size', '10MiB', '--wipe']);
  assert.equal(r.code, 0, r.err);
  let sb = sbOf(img);
  assert.equal(sb.provided_data_sectors, 20480);
  assert.equal(sb.flags & 0x2, 0);
  const v = await verifyAll(img, ['--integrity', 'sha256']);
  assert.equal(v.mismatches, 0);
  assert.equal(v.checked_blocks, 20480);
  assert.ok(
    (await readSectors(img, old, 20480, ['--integrity', 'sha256'])).equals(Buffer.alloc((20480 - old) * 512)),
    `sectors ${old}–20479 (new) read as zeros`,
  );
  assert.ok((await readSectors(img, 0, 2048, ['--integrity', 'sha256'])).equals(data), 'the old data kept');
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
  const old = sbOf(meta).provided_data_sectors;
  junk(data, 4 << 20, 6 << 20);
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
  assert.equal(old, 8192);
  assert.ok(
    (await readSectors(meta, old, 12288, ['--data-device', data, ...kargs])).equals(Buffer.alloc((12288 - old) * 512)),
    'the new sectors read as zeros',
  );
});

test('grow to a --device-size smaller than the file: the image ends where the volume ends (the kernel would otherwise take the rest unrecalculated)', async () => {
  const { img } = await fresh('trim.img', 8);
  const old = sbOf(img).provided_data_sectors;
  junk(img, 8 << 20, 12 << 20);
  const r = await run(['resize', img, '--device-size', '10MiB', '--wipe']);
  assert.equal(r.code, 0, r.err);
  const sb = sbOf(img);
  assert.equal(sb.provided_data_sectors, 20480);
  assert.ok((await readSectors(img, old, 20480)).equals(Buffer.alloc((20480 - old) * 512)), 'the new sectors read as zeros');
  assert.ok(fs.statSync(img).size < 11 << 20, `image is ${fs.statSync(img).size} bytes`);
  assert.equal((await verifyAll(img)).mismatches, 0);
  // and nothing to do the second time
  const again = await run(['resize', img, '--device-size', '10MiB']);
  assert.match(again.out, /nothing to do/);
});
