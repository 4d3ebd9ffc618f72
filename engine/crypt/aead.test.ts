// Per-sector AEAD: the AEGIS-128 known-answer vector, round trips of every mode, and a flipped bit anywhere
// (data, tag, IV, sector number) failing authentication. The kernel proofs are crypt-golden.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { aegis128Decrypt, aegis128Encrypt } from './aegis128.js';
import { sectorCipher } from './aead.js';

test('aegis128: CAESAR AEGIS-128 vector (zero key, zero nonce, 16 zero bytes)', () => {
  const out = Buffer.alloc(16);
  const tag = aegis128Encrypt(Buffer.alloc(16), Buffer.alloc(16), Buffer.alloc(0), Buffer.alloc(16), out);
  assert.equal(out.toString('hex'), '951b050fa72b1a2fc16d2e1f01b07d7e');
  assert.equal(tag.toString('hex'), 'a7d2a99773249542f422217ee888d5f1');
  const back = Buffer.alloc(16, 1);
  assert.ok(aegis128Decrypt(Buffer.alloc(16), Buffer.alloc(16), Buffer.alloc(0), out, tag, back));
  assert.ok(back.equals(Buffer.alloc(16)));
});

const MODES: Array<[string, string, number, number]> = [
  ['aes-xts-random', 'hmac(sha256)', 96, 48],
  ['aes-xts-random', 'hmac(sha512)', 128, 80],
  ['aes-gcm-random', 'aead', 32, 28],
  ['chacha20-random', 'poly1305', 32, 28],
  ['aegis128-random', 'aead', 16, 32],
];

for (const [enc, integ, keyLen, tuple] of MODES) {
  for (const ss of [512, 4096]) {
    test(`${enc} + ${integ}, ${ss}-byte sectors: round trip; any flipped bit fails`, () => {
      const c = sectorCipher(enc, integ, crypto.randomBytes(keyLen), tuple, ss);
      const plain = crypto.randomBytes(ss);
      const ct = Buffer.alloc(ss);
      const t = Buffer.alloc(tuple + 4, 0xee);
      c.encrypt(8, plain, ct, 0, t, 2);
      assert.ok(!ct.equals(plain));
      assert.ok(t.subarray(2 + c.authSize + c.ivSize, 2 + tuple).equals(Buffer.alloc(tuple - c.authSize - c.ivSize)), 'zero padding');
      assert.equal(t[0], 0xee);
      assert.equal(t[tuple + 2], 0xee, 'nothing written past the tuple');
      const out = Buffer.alloc(ss);
      assert.ok(c.decrypt(8, ct, t, 2, out, 0));
      assert.ok(out.equals(plain));
      assert.ok(!c.decrypt(16, ct, t, 2, out, 0), 'another sector number (in the AAD) fails');
      assert.ok(out.equals(Buffer.alloc(ss)), 'failed sector reads as zeros');
      for (const [buf, pos] of [[ct, 100], [t, 2], [t, 2 + c.authSize + 1]] as Array<[Buffer, number]>) {
        buf[pos]! ^= 1;
        assert.ok(!c.decrypt(8, ct, t, 2, out, 0));
        buf[pos]! ^= 1;
      }
      // a fresh IV per write: the same plaintext never encrypts the same twice
      const ct2 = Buffer.alloc(ss);
      const t2 = Buffer.alloc(tuple + 4);
      c.encrypt(8, plain, ct2, 0, t2, 2);
      assert.ok(!ct2.equals(ct));
    });
  }
}

test('unsupported combinations and wrong key sizes are refused with one clear error', () => {
  assert.throws(() => sectorCipher('aes-cbc-essiv:sha256', 'hmac(sha256)', Buffer.alloc(64), 48, 512), /unsupported authenticated encryption/);
  assert.throws(() => sectorCipher('aes-gcm-random', 'aead', Buffer.alloc(20), 28, 512), /20-byte volume key is not valid/);
  assert.throws(() => sectorCipher('aes-gcm-random', 'aead', Buffer.alloc(32), 8, 512), /does not hold/);
});

test('xtsMany (two ECB calls per chunk) equals node:crypto aes-xts per sector, both directions, 512 and 4096-byte units, 256/512-bit keys', async () => {
  const { xtsMany } = await import('./aead.js');
  for (const [keyLen, unit] of [[32, 512], [64, 512], [64, 4096], [32, 4096]] as const) {
    const key = crypto.randomBytes(keyLen);
    const n = 7;
    const ivs = crypto.randomBytes(16 * n);
    const data = crypto.randomBytes(n * unit);
    const ours = xtsMany(true, key, ivs, data, unit);
    for (let u = 0; u < n; u++) {
      const c = crypto.createCipheriv(`aes-${keyLen * 4}-xts`, key, ivs.subarray(u * 16, u * 16 + 16));
      const want = Buffer.concat([c.update(data.subarray(u * unit, (u + 1) * unit)), c.final()]);
      assert.ok(ours.subarray(u * unit, (u + 1) * unit).equals(want), `unit ${u} (${keyLen}-byte key, ${unit})`);
    }
    assert.ok(xtsMany(false, key, ivs, ours, unit).equals(data));
  }
});
