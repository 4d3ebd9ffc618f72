import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { main } from './main.js';
import { LUKS_FIXTURES, luksFixtures, unpackLuksFixture } from '../testing/luks-fixtures.js';
import { assertNoSecret } from '../testing/secrets.js';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, { out: (s) => (out += s), err: (s) => (err += s), stdout: process.stdout });
  return { code, out, err };
}

test('luks-dump prints byte for byte what cryptsetup luksDump printed for every fixture', async () => {
  for (const [name, fx] of Object.entries(luksFixtures())) {
    const r = await run(['luks-dump', unpackLuksFixture(name)]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, fs.readFileSync(path.join(LUKS_FIXTURES, fx.luksDump), 'utf8'), name);
  }
});

test('luks-dump --json: the metadata, never the volume key', async () => {
  const r = await run(['luks-dump', unpackLuksFixture('a'), '--json']);
  assert.equal(r.code, 0);
  const j = JSON.parse(r.out);
  assert.equal(j.dataSegment.integrity.type, 'hmac(sha256)');
  assert.equal(j.keyslots.length, 2);
});

test('luks-dump (text and --json) of every fixture: neither its volume key nor its passphrase, in any form', async () => {
  const all = Object.entries(luksFixtures());
  assert.ok(all.length >= 2, `${all.length} fixtures`);
  for (const [name, fx] of all) {
    const img = unpackLuksFixture(name);
    const vk = Buffer.from(fx.volumeKey, 'hex');
    // the key searched for is this header's: the passphrase unlocks exactly it
    const { unlockLuks2 } = await import('../engine/luks/index.js');
    assert.ok(Buffer.from((await unlockLuks2(img, { passphrase: Buffer.from(fx.passphrase) })).volumeKey).equals(vk), `${name}: the fixture's volume key`);
    for (const args of [[], ['--json']]) {
      const r = await run(['luks-dump', img, ...args]);
      assert.equal(r.code, 0, r.err);
      if (args.length) assert.ok(JSON.parse(r.out).keyslots.length > 0, `${name}: a JSON dump with its keyslots`);
      else assert.match(r.out, /^Keyslots:$/m, `${name}: a dump was printed`);
      for (const [what, secret] of [
        ['volume key', vk],
        ['passphrase', Buffer.from(fx.passphrase)],
      ] as const) {
        assertNoSecret(r.out + r.err, secret, `${name} ${what}`, `luks-dump ${args.join(' ')}`);
      }
    }
  }
});

test('luks-dump: a damaged primary is named on stderr; a non-LUKS file exits 1 with one line', async () => {
  const p = unpackLuksFixture('b');
  const fd = fs.openSync(p, 'r+');
  fs.writeSync(fd, Buffer.from('x'), 0, 1, 5000);
  fs.closeSync(fd);
  const r = await run(['luks-dump', p]);
  assert.equal(r.code, 0);
  assert.match(r.err, /primary LUKS2 header \(offset 0\) is damaged: checksum mismatch/);
  const z = p + '.z';
  fs.writeFileSync(z, Buffer.alloc(65536));
  const r2 = await run(['luks-dump', z]);
  assert.equal(r2.code, 1);
  assert.match(r2.err, /^integrity-studio: .* is not a valid LUKS device/);
  assert.equal(r2.err.trim().split('\n').length, 1);
});
