// Per-sector AEAD: the AEGIS-128 known-answer vector, round trips of every mode × IV generator, and a flipped bit
// anywhere (data, tag, IV, sector number) failing authentication; the batched paths equal the per-sector ones.
// The kernel proofs are crypt-golden.test.ts and ivmodes.oracle.test.ts.
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
  ['aes-ccm-random', 'aead', 19, 24],
  ['aes-ctr-random', 'hmac(sha256)', 64, 48],
  // computed IVs: nothing stored in the tuple
  ['aes-xts-plain64', 'hmac(sha256)', 96, 32],
  ['aes-xts-plain64be', 'hmac(sha512)', 128, 64],
  ['aes-xts-essiv:sha256', 'hmac(sha256)', 96, 32],
  ['aes-xts-benbi', 'hmac(sha1)', 84, 20],
  ['aes-xts-plain', 'hmac(sha256)', 64, 32],
  ['aes-xts-null', 'hmac(sha256)', 96, 32],
  ['aes-cbc-essiv:sha256', 'hmac(sha256)', 64, 32],
  ['aes-cbc-plain64', 'hmac(sha256)', 48, 32],
  ['aes-ctr-plain64', 'hmac(sha256)', 64, 32],
  ['aes-gcm-plain64', 'aead', 32, 16],
  ['aes-gcm-benbi', 'aead', 16, 16],
  ['aes-ccm-plain64', 'aead', 35, 16],
  ['chacha20-plain64', 'poly1305', 32, 16],
  ['chacha20-plain64be', 'poly1305', 32, 16],
  ['aegis128-plain64', 'aead', 16, 16],
  ['aegis128-null', 'aead', 16, 16],
  // tcw: the key's last iv_size + 16 bytes are the IV seed and the whitening
  ['aes-xts-tcw', 'hmac(sha256)', 96, 32],
  ['aes-gcm-tcw', 'aead', 32 + 28, 16],
];

for (const [enc, integ, keyLen, tuple] of MODES) {
  for (const ss of enc.endsWith('-tcw') ? [512] : [512, 4096]) {
    test(`${enc} + ${integ}, ${ss}-byte sectors: round trip; any flipped bit fails`, () => {
      const c = sectorCipher(enc, integ, crypto.randomBytes(keyLen), tuple, ss);
      const random = enc.endsWith('-random');
      assert.equal(c.ivSize > 0, random, 'only the random IV is stored in the tuple');
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
      if (c.authenticate) assert.ok(c.authenticate(8, ct, t, 2));
      assert.ok(!c.decrypt(16, ct, t, 2, out, 0), 'another sector number (in the AAD, and in a computed IV) fails');
      assert.ok(out.equals(Buffer.alloc(ss)), 'failed sector reads as zeros');
      for (const [buf, pos] of [[ct, 100], [ct, ss - 1], [t, 2], [t, 2 + c.authSize - 1], ...(random ? [[t, 2 + c.authSize + 1]] : [])] as Array<
        [Buffer, number]
      >) {
        buf[pos]! ^= 1;
        assert.ok(!c.decrypt(8, ct, t, 2, out, 0));
        if (c.authenticate) assert.ok(!c.authenticate(8, ct, t, 2));
        buf[pos]! ^= 1;
      }
      const ct2 = Buffer.alloc(ss);
      const t2 = Buffer.alloc(tuple + 4);
      c.encrypt(8, plain, ct2, 0, t2, 2);
      // random: a fresh IV per write; computed: the same sector and data encrypt the same (what the kernel does)
      assert.equal(ct2.equals(ct), !random);
      const ct3 = Buffer.alloc(ss);
      c.encrypt(16, plain, ct3, 0, t2, 2);
      if (!enc.endsWith('-null')) assert.ok(!ct3.equals(ct), 'another sector encrypts differently');
    });
  }
}

test('the batched paths (decryptMany/encryptMany) equal the per-sector ones, every IV mode over XTS and CBC, with an iv_offset', () => {
  for (const [enc, integ, keyLen, tuple] of MODES.filter(([e]) => /^aes-(xts|cbc)-/.test(e))) {
    for (const ss of enc.endsWith('-tcw') ? [512] : [512, 4096]) {
      const key = crypto.randomBytes(keyLen);
      const c = sectorCipher(enc, integ, key, tuple, ss, { ivOffset: 5 });
      assert.ok(c.decryptMany, `${enc}: batched decryption`);
      const spb = ss / 512;
      const n = 6;
      const first = 24;
      const plain = crypto.randomBytes(n * ss);
      const ct = Buffer.alloc(n * ss);
      const tuples = Buffer.alloc(n * tuple);
      if (c.encryptMany) c.encryptMany(first, spb, n, plain, ct, tuples);
      else for (let b = 0; b < n; b++) c.encrypt(first + b * spb, plain.subarray(b * ss), ct, b * ss, tuples, b * tuple);
      // each sector decrypts alone, then all at once with one corrupted
      const one = Buffer.alloc(ss);
      for (let b = 0; b < n; b++) {
        assert.ok(c.decrypt(first + b * spb, ct.subarray(b * ss), tuples, b * tuple, one, 0), `${enc} ${ss}: sector ${b}`);
        assert.ok(one.equals(plain.subarray(b * ss, (b + 1) * ss)));
      }
      ct[3 * ss + 7]! ^= 1;
      const out = Buffer.alloc(n * ss + 3, 0xaa);
      assert.deepEqual(c.decryptMany!(first, spb, n, ct, tuples, out, 3), [3], `${enc} ${ss}`);
      assert.ok(out.subarray(3, 3 + 3 * ss).equals(plain.subarray(0, 3 * ss)));
      assert.ok(out.subarray(3 + 3 * ss, 3 + 4 * ss).equals(Buffer.alloc(ss)), 'the failing sector reads as zeros');
      assert.ok(out.subarray(3 + 4 * ss).equals(plain.subarray(4 * ss)));
      // the IV depends on iv_offset (a computed IV), the AAD does not
      if (!enc.endsWith('-random') && !enc.endsWith('-null')) {
        const other = sectorCipher(enc, integ, key, tuple, ss);
        assert.ok(!other.decrypt(first, ct, tuples, 0, one, 0), `${enc}: iv_offset feeds the IV`);
      }
    }
  }
});

test('ESSIV under authenc: IV = AES_{sha256(encryption key ‖ MAC key)}(le64 sector), and that IV is in the AAD (crypto/essiv.c)', () => {
  const key = crypto.randomBytes(96);
  const c = sectorCipher('aes-xts-essiv:sha256', 'hmac(sha256)', key, 32, 512);
  const plain = crypto.randomBytes(512);
  const ct = Buffer.alloc(512);
  const t = Buffer.alloc(32);
  c.encrypt(1000, plain, ct, 0, t, 0);
  const salt = crypto.createHash('sha256').update(key).digest();
  const s = Buffer.alloc(16);
  s.writeUInt32LE(1000, 0);
  const iv = crypto.createCipheriv('aes-256-ecb', salt, null).setAutoPadding(false).update(s);
  const x = crypto.createCipheriv('aes-256-xts', key.subarray(0, 64), iv);
  assert.ok(Buffer.concat([x.update(plain), x.final()]).equals(ct));
  const aad = Buffer.concat([Buffer.from([0xe8, 3, 0, 0, 0, 0, 0, 0]), iv]);
  assert.ok(crypto.createHmac('sha256', key.subarray(64)).update(aad).update(ct).digest().equals(t));
});

test('unsupported combinations and wrong key sizes are refused with one clear error', () => {
  assert.throws(
    () => sectorCipher('serpent-xts-plain64', 'hmac(sha256)', Buffer.alloc(96), 32, 512),
    /unsupported authenticated encryption: cipher serpent-xts-plain64 .*supported: aes-xts/,
  );
  assert.throws(() => sectorCipher('aes-gcm-random', 'aead', Buffer.alloc(20), 28, 512), /20-byte volume key is not valid/);
  assert.throws(() => sectorCipher('aes-gcm-random', 'aead', Buffer.alloc(32), 8, 512), /does not hold/);
  assert.throws(() => sectorCipher('aes-xts-lmk', 'hmac(sha256)', Buffer.alloc(96), 32, 512), /IV mode lmk cannot be used with authenticated encryption .*LMK/);
  assert.throws(() => sectorCipher('aes-cbc-eboiv', 'hmac(sha256)', Buffer.alloc(64), 32, 512), /IV mode eboiv cannot be used/);
  assert.throws(() => sectorCipher('aes-xts-elephant', 'hmac(sha256)', Buffer.alloc(96), 32, 512), /IV mode elephant/);
  assert.throws(() => sectorCipher('aes-gcm-essiv:sha256', 'aead', Buffer.alloc(32), 16, 512), /essiv:sha256 works only with hmac/);
  assert.throws(() => sectorCipher('aes-xts-essiv:sha1', 'hmac(sha256)', Buffer.alloc(96), 32, 512), /digest is an AES key/);
  assert.throws(() => sectorCipher('aes-xts-tcw', 'hmac(sha256)', Buffer.alloc(96), 32, 4096), /needs 512-byte sectors/);
  assert.throws(
    () => sectorCipher('aes-xts-random', 'none', Buffer.alloc(64), 16, 512),
    /integrity none stores its IVs in dm-integrity but authenticates nothing/,
  );
  assert.throws(() => sectorCipher('aes-xts-fancy', 'hmac(sha256)', Buffer.alloc(96), 32, 512), /IV mode fancy is not an IV mode dm-crypt knows/);
});

test('luks-format refuses IVs that repeat, with the reason, and allows the rest', async () => {
  const { aeadSpec, formatRefusal } = await import('./aead.js');
  for (const [enc, integ] of [
    ['aes-xts-random', 'hmac(sha256)'],
    ['aes-xts-plain64', 'hmac(sha256)'],
    ['aes-xts-essiv:sha256', 'hmac(sha512)'],
    ['aes-cbc-essiv:sha256', 'hmac(sha256)'],
    ['aes-gcm-random', 'aead'],
    ['chacha20-random', 'poly1305'],
  ]) {
    assert.equal(formatRefusal(aeadSpec(enc!, integ!)), null, enc);
  }
  assert.match(formatRefusal(aeadSpec('aes-gcm-plain64', 'aead'))!, /nonce and keystream repeat.*GCM's authentication key/);
  assert.match(formatRefusal(aeadSpec('chacha20-plain64', 'poly1305'))!, /nonce and keystream repeat/);
  assert.match(formatRefusal(aeadSpec('aes-ctr-plain64', 'hmac(sha256)'))!, /nonce and keystream repeat/);
  assert.match(formatRefusal(aeadSpec('aes-cbc-plain64', 'hmac(sha256)'))!, /watermarking/);
  assert.match(formatRefusal(aeadSpec('aes-xts-null', 'hmac(sha256)'))!, /same IV/);
  assert.match(formatRefusal(aeadSpec('aes-xts-plain', 'hmac(sha256)'))!, /2 TiB/);
  assert.match(formatRefusal(aeadSpec('aes-xts-tcw', 'hmac(sha256)'))!, /TrueCrypt/);
});

test('xtsMany (two ECB calls per chunk) equals node:crypto aes-xts per sector, both directions, 512 and 4096-byte units, 256/512-bit keys', async () => {
  const { xtsMany } = await import('./aead.js');
  for (const [keyLen, unit] of [
    [32, 512],
    [64, 512],
    [64, 4096],
    [32, 4096],
  ] as const) {
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

test('computed IVs count 512-byte sectors (+ iv_offset) as LUKS2 has it; iv_large_sectors counts encryption sectors', () => {
  const key = crypto.randomBytes(96);
  const plain = crypto.randomBytes(4096);
  const xts = (ivSector: number) => {
    const iv = Buffer.alloc(16);
    iv.writeUInt32LE(ivSector, 0);
    const c = crypto.createCipheriv('aes-256-xts', key.subarray(0, 64), iv);
    return Buffer.concat([c.update(plain), c.final()]);
  };
  const enc = (o: { ivOffset?: number; ivLargeSectors?: boolean }) => {
    const c = sectorCipher('aes-xts-plain64', 'hmac(sha256)', key, 32, 4096, o);
    const out = Buffer.alloc(4096);
    c.encrypt(24, plain, out, 0, Buffer.alloc(32), 0);
    return out;
  };
  assert.ok(enc({}).equals(xts(24)), 'the encryption sector at 512-byte sector 24 has IV 24');
  assert.ok(enc({ ivOffset: 5 }).equals(xts(29)), 'iv_offset is added');
  assert.ok(enc({ ivLargeSectors: true }).equals(xts(3)), 'iv_large_sectors: 24 >> 3');
  assert.ok(enc({ ivLargeSectors: true, ivOffset: 8 }).equals(xts(4)), '(24 + 8) >> 3');
});
