// dump/status wording (2.6 / 2.8), a metadata device dumped on its own, inline-mode (v6) superblocks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { main, type Io } from './main.js';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (s) => (out += s), err: (s) => (err += s), stdout: process.stdout };
  const code = await main(argv, io);
  return { code, out, err };
}
import { golden, goldenPath, tmpDir, sha256File } from '../testing/golden.js';

const dir = tmpDir('dump-');

test('dump of a separate metadata device without --data-device prints its superblock as integritysetup does (both wordings)', async () => {
  for (const set of ['6.1', '7.2'] as const) {
    const f = golden('f-separate-metadata', set);
    const meta = goldenPath(f.files[0]!);
    const r = await run(['dump', meta]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.out.trim().split('\n').slice(1), String(f.integritysetup_dump).trim().split('\n').slice(1));
    const j = await run(['dump', meta, '--json']);
    assert.equal(j.code, 0, j.err);
    assert.equal(JSON.parse(j.out).geometry.separate_data_device, true);
    if (set === '7.2') {
      const r8 = await run(['dump', meta, '--format-version', '2.8']);
      assert.deepEqual(r8.out.trim().split('\n').slice(1), String(f.integritysetup_dump_guest).trim().split('\n').slice(1));
    }
    // data access still needs the data device
    const v = await run(['verify', meta]);
    assert.notEqual(v.code, 0);
    assert.match(v.err, /--data-device/);
  }
});

test('an inline-mode superblock (version 6, inline flag): dump shows it, data access is refused with the reason, nothing written', async () => {
  const a = goldenPath(golden('a-default').files[0]!);
  const img = path.join(dir, 'inline.img');
  const b = Buffer.from(fs.readFileSync(a).subarray(0, 1 << 20));
  b[8] = 6;
  b.writeUInt32LE(b.readUInt32LE(24) | 0x20, 24);
  fs.writeFileSync(img, b);
  const before = sha256File(img);
  const d6 = await run(['dump', img]);
  assert.equal(d6.code, 0, d6.err);
  assert.match(d6.out, /^superblock_version 6$/m);
  assert.match(d6.out, /^flags fix_padding fix_hmac inline $/m);
  const d8 = await run(['dump', img, '--format-version', '2.8.8']);
  assert.match(d8.out, /^version: 6$/m);
  assert.match(d8.out, /^flags: fix_padding fix_hmac inline $/m);
  for (const cmd of ['verify', 'read', 'status', 'scrub']) {
    const r = await run([cmd, img]);
    assert.notEqual(r.code, 0, cmd);
    assert.match(r.err, /inline-mode volume \(superblock version 6\).*per-sector integrity metadata/, cmd);
  }
  assert.equal(sha256File(img), before);
  // a version 6 superblock without the flag, or the flag on version 5, is damage
  const bad = Buffer.from(b);
  bad.writeUInt32LE(bad.readUInt32LE(24) & ~0x20, 24);
  fs.writeFileSync(img, bad);
  assert.match((await run(['dump', img])).err, /version 6 without the inline flag/);
});

test('--format-version takes 2.6 or 2.8; --integrity-inline at format is refused before writing', async () => {
  const a = goldenPath(golden('a-default').files[0]!);
  const r = await run(['dump', a, '--format-version', '2.7']);
  assert.equal(r.code, 1);
  assert.match(r.err, /--format-version takes 2.6 or 2.8/);
  const img = path.join(dir, 'fmt.img');
  fs.writeFileSync(img, Buffer.alloc(4 << 20));
  const f = await run(['format', img, '--integrity-inline', '--batch-mode']);
  assert.equal(f.code, 1);
  assert.match(f.err, /per-sector integrity metadata/);
  assert.ok(fs.readFileSync(img).equals(Buffer.alloc(4 << 20)), 'nothing written');
  // open accepts it (the superblock decides)
  assert.equal((await run(['verify', a, '--integrity-inline'])).code, 0);
});

test("status in integritysetup 2.8 wording matches the fields sid's integritysetup printed for the golden volumes", async () => {
  for (const name of ['a-default', 'e-bitmap', 'f-separate-metadata']) {
    const im = golden(name, '7.2');
    const args = name === 'e-bitmap' ? ['--integrity-bitmap-mode'] : name.startsWith('f-') ? ['--data-device', goldenPath(im.files[1]!)] : [];
    const r = await run(['status', goldenPath(im.files[0]!), ...args, '--format-version', '2.8']);
    assert.equal(r.code, 0, r.err);
    const theirs = String(im.integritysetup_status_guest)
      .split('\n')
      .slice(1)
      .filter((l) => !/^\s+(mode|failures|device|metadata device):/.test(l));
    const ours = r.out
      .trim()
      .split('\n')
      .slice(1)
      .filter((l) => !/^\s+(device|metadata device):/.test(l));
    assert.deepEqual(ours, theirs, name);
  }
});
