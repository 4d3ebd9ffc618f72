import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { unlockLuks2, NoKeyError } from './index.js';
import { LUKS_FIXTURES, luksFixtures, unpackLuksFixture } from '../../testing/luks-fixtures.js';
import { must } from '../../testing/must.js';

const pw = (s: string) => new TextEncoder().encode(s);

test('every fixture unlocks with its passphrase; the volume key is what cryptsetup --dump-volume-key printed', async () => {
  for (const [name, fx] of Object.entries(luksFixtures())) {
    const p = unpackLuksFixture(name);
    const r = await unlockLuks2(p, { passphrase: pw(fx.passphrase) });
    assert.equal(r.volumeKey.toString('hex'), fx.volumeKey, name);
    assert.equal(r.keyslot, 0, name);
  }
});

test('key files: whole file (fixture a, keyslot 1) and offset+size (fixture c, keyslot 3)', async () => {
  const key = path.join(LUKS_FIXTURES, 'a.key');
  const fa = must(luksFixtures().a, 'fixture a');
  const ra = await unlockLuks2(unpackLuksFixture('a'), { keyFile: key });
  assert.equal(ra.keyslot, 1);
  assert.equal(ra.volumeKey.toString('hex'), fa.volumeKey);
  const rc = await unlockLuks2(unpackLuksFixture('c'), { keyFile: key, keyFileOffset: 100, keyFileSize: 64 });
  assert.equal(rc.keyslot, 3);
  assert.equal(rc.volumeKey.toString('hex'), must(luksFixtures().c, 'fixture c').volumeKey);
  // the same key file without the offset opens nothing
  await assert.rejects(unlockLuks2(unpackLuksFixture('c'), { keyFile: key }), (e: unknown) => e instanceof NoKeyError);
});

test("a wrong passphrase gets exactly cryptsetup's words", async () => {
  for (const name of ['a', 'f', 'g']) {
    await assert.rejects(unlockLuks2(unpackLuksFixture(name), { passphrase: pw('wrong') }), (e: unknown) => {
      assert.ok(e instanceof NoKeyError);
      assert.equal((e as Error).message, 'No key available with this passphrase.');
      return true;
    });
  }
  // the right passphrase on a keyslot it does not belong to
  await assert.rejects(unlockLuks2(unpackLuksFixture('a'), { passphrase: pw('pass-a') }, { keyslot: 1 }), NoKeyError);
});

test('argon2id unlock reports progress with an estimate', async () => {
  const seen: string[] = [];
  let est = 0;
  await unlockLuks2(
    unpackLuksFixture('f'),
    { passphrase: pw('pass-f') },
    {
      onProgress: (p) => {
        seen.push(p.phase);
        if ('estimateMs' in p) est = p.estimateMs;
      },
    },
  );
  assert.equal(seen[0], 'keyslot-start');
  assert.ok(seen.includes('kdf-start') && seen.includes('kdf-end'));
  assert.ok(est > 0);
});

test('without the native Argon2 the pure-JS fallback gives the same volume keys, with one notice', async () => {
  const { spawnSync } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const idx = fileURLToPath(new URL('./index.js', import.meta.url));
  const fxm = fileURLToPath(new URL('../../testing/luks-fixtures.js', import.meta.url));
  const src = `
    import { unlockLuks2, argon2Backend } from ${JSON.stringify(idx)};
    import { unpackLuksFixture, luksFixtures } from ${JSON.stringify(fxm)};
    const out = [argon2Backend()];
    for (const n of ['f', 'g']) {
      const r = await unlockLuks2(unpackLuksFixture(n), { passphrase: Buffer.from(luksFixtures()[n].passphrase) });
      out.push(r.volumeKey.toString('hex') === luksFixtures()[n].volumeKey);
    }
    console.log(JSON.stringify(out));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', src], {
    env: { ...process.env, INTEGRITY_STUDIO_NO_NATIVE_ARGON2: '1' },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), ['js', true, true]);
  assert.equal(r.stderr.match(/pure-JavaScript Argon2/g)?.length, 1, r.stderr);
});

test('a header with mandatory requirements (an unfinished reencryption) is refused before any KDF runs', async () => {
  const fs = await import('node:fs');
  const { headerChecksum, OFF } = await import('./header.js');
  const p = unpackLuksFixture('a');
  const img = fs.readFileSync(p);
  for (const off of [0, 16384]) {
    const area = img.subarray(off + 4096, off + 16384);
    const j = JSON.parse(area.subarray(0, area.indexOf(0)).toString());
    j.config.requirements = { mandatory: ['online-reencrypt-v2'] };
    area.fill(0);
    Buffer.from(JSON.stringify(j)).copy(area);
    headerChecksum('sha256', img.subarray(off, off + 4096), area).copy(img, off + OFF.csum);
  }
  fs.writeFileSync(p, img);
  await assert.rejects(unlockLuks2(p, { passphrase: pw('pass-a') }), /requirements this tool does not support \(online-reencrypt-v2/);
});
