// Tag algorithms against published vectors and independent reference computations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { algorithmInfo, createTagHasher, hmacPrefix, makeDigest, supportedAlgorithms } from './index.js';
import { crc32c as jsCrc32c } from './crc32c.js';
import { Blake2b } from './blake2b.js';
import { blake2b as nobleBlake2b } from '@noble/hashes/blake2.js';

/** digest of `msg` through the engine's digest function */
function digest(alg: string, msg: Buffer, key?: Buffer): string {
  const pre = hmacPrefix(alg);
  const scratch = Buffer.alloc(pre + msg.length);
  const d = makeDigest(alg, key, scratch);
  msg.copy(scratch, pre);
  const out = Buffer.alloc(d.size);
  d.into(pre + msg.length, out, 0, d.size);
  return out.toString('hex');
}

/** crc32_le(seed, data) bit by bit, as lib/crc32.c defines it (reflected polynomial 0xEDB88320) */
function crc32le(seed: number, data: Buffer): number {
  let c = seed >>> 0;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return c >>> 0;
}

const le32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b.toString('hex');
};

test('published vectors: sha*, hmac-* (RFC 2202/4231), blake2b-256, xxhash64, crc32c', () => {
  const abc = Buffer.from('abc');
  assert.equal(digest('sha1', abc), 'a9993e364706816aba3e25717850c26c9cd0d89d');
  assert.equal(digest('sha256', abc), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.equal(
    digest('sha512', abc),
    'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
  );
  assert.equal(digest('blake2b-256', abc), 'bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319');
  assert.equal(digest('blake2b-256', Buffer.alloc(0)), '0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8');
  // xxh64("abc", seed 0) = 0x44bc2cf5ad770999, stored little-endian like the kernel's xxhash64 final()
  assert.equal(digest('xxhash64', abc), '990977adf52cbc44');
  assert.equal(digest('xxhash64', Buffer.alloc(0)), '99e9d85137db46ef');
  // CRC-32C check value of "123456789" is 0xe3069283, little-endian
  assert.equal(digest('crc32c', Buffer.from('123456789')), '839206e3');
  const jefe = Buffer.from('Jefe');
  const msg = Buffer.from('what do ya want for nothing?');
  assert.equal(digest('hmac-sha1', msg, jefe), 'effcdf6ae5eb2fa2d27416d5f184df9c259a7c79');
  assert.equal(digest('hmac-sha256', msg, jefe), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  assert.equal(
    digest('hmac-sha512', msg, jefe),
    '164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737',
  );
  // RFC 4231 case 6: a key longer than the block is hashed first
  const big = Buffer.alloc(131, 0xaa);
  assert.equal(
    digest('hmac-sha256', Buffer.from('Test Using Larger Than Block-Size Key - Hash Key First'), big),
    '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
  );
});

test('kernel crc32 is crc32_le(0, data) with no final inversion, stored little-endian (not zlib crc32)', () => {
  const data = crypto.randomBytes(4096 + 24);
  assert.equal(digest('crc32', data), le32(crc32le(0, data)));
  assert.equal(digest('crc32', Buffer.from('123456789')), le32(crc32le(0, Buffer.from('123456789'))));
  // and it differs from the zlib/IEEE crc32 (0xcbf43926 for "123456789")
  assert.notEqual(digest('crc32', Buffer.from('123456789')), le32(0xcbf43926));
  // crc32c agrees with the independent slicing-by-8 implementation
  assert.equal(digest('crc32c', data), le32(jsCrc32c(data)));
});

test('tag = H([salt] ‖ le64(sector) ‖ block), truncated or zero-padded to tag_size', () => {
  const salt = crypto.randomBytes(16);
  const block = crypto.randomBytes(4096);
  const key = crypto.randomBytes(32);
  const sector = 2 ** 40 + 12345 * 8;
  const le = Buffer.alloc(8);
  le.writeBigUInt64LE(BigInt(sector));
  const cases: Array<[string, number, (m: Buffer) => Buffer]> = [
    ['sha256', 32, (m) => crypto.createHash('sha256').update(m).digest()],
    ['sha1', 24, (m) => Buffer.concat([crypto.createHash('sha1').update(m).digest(), Buffer.alloc(4)])],
    ['sha512', 16, (m) => crypto.createHash('sha512').update(m).digest().subarray(0, 16)],
    ['hmac-sha256', 32, (m) => crypto.createHmac('sha256', key).update(m).digest()],
    ['hmac-sha512', 64, (m) => crypto.createHmac('sha512', key).update(m).digest()],
    ['hmac-sha1', 20, (m) => crypto.createHmac('sha1', key).update(m).digest()],
    ['crc32', 4, (m) => Buffer.from(le32(crc32le(0, m)), 'hex')],
    ['crc32c', 8, (m) => Buffer.concat([Buffer.from(le32(jsCrc32c(m)), 'hex'), Buffer.alloc(4)])],
  ];
  for (const [alg, tagSize, ref] of cases) {
    for (const withSalt of [true, false]) {
      const h = createTagHasher({ algorithm: alg, key: algorithmInfo(alg).keyed ? key : undefined, salt: withSalt ? salt : null, tagSize });
      const out = Buffer.alloc(tagSize + 2, 0xee);
      h.tag(sector, block, out, 1);
      const msg = Buffer.concat([withSalt ? salt : Buffer.alloc(0), le, block]);
      assert.equal(out.subarray(1, 1 + tagSize).toString('hex'), ref(msg).toString('hex'), `${alg} salt=${withSalt}`);
      assert.equal(out[0], 0xee);
      assert.equal(out[tagSize + 1], 0xee, `${alg}: writes only tag_size bytes`);
      // 512-byte blocks too, and the scratch buffer leaves no trace between calls
      const small = block.subarray(0, 512);
      h.tag(7, small, out, 0);
      const le7 = Buffer.alloc(8);
      le7.writeBigUInt64LE(7n);
      assert.equal(out.subarray(0, tagSize).toString('hex'), ref(Buffer.concat([withSalt ? salt : Buffer.alloc(0), le7, small])).toString('hex'));
    }
  }
});

test('keys: keyed algorithms need one, plain ones refuse one; unknown names list the supported ones', () => {
  assert.throws(() => createTagHasher({ algorithm: 'hmac-sha256', tagSize: 32 }), /needs a key/);
  assert.throws(() => createTagHasher({ algorithm: 'sha256', key: Buffer.alloc(4), tagSize: 32 }), /takes no key/);
  assert.throws(
    () => algorithmInfo('md5'),
    /unsupported integrity algorithm "md5" \(supported: crc32c, crc32, xxhash64, sha1, sha256, sha512, blake2b-256, hmac-sha1, hmac-sha256, hmac-sha512\)/,
  );
  assert.throws(() => algorithmInfo('toString'), /unsupported/);
  assert.deepEqual(supportedAlgorithms().sort(), [
    'blake2b-256',
    'crc32',
    'crc32c',
    'hmac-sha1',
    'hmac-sha256',
    'hmac-sha512',
    'sha1',
    'sha256',
    'sha512',
    'xxhash64',
  ]);
  assert.equal(algorithmInfo('hmac-sha512').kernelName, 'hmac(sha512)');
});

test('our BLAKE2b agrees with @noble/hashes for every length around the block boundaries, and with OpenSSL blake2b512', () => {
  for (let len = 0; len < 600; len += len < 300 ? 1 : 7) {
    const m = crypto.randomBytes(len);
    for (const dl of [32, 64, 20]) {
      const out = Buffer.alloc(dl);
      new Blake2b(dl).digestInto(m, out, 0);
      assert.equal(out.toString('hex'), Buffer.from(nobleBlake2b(m, { dkLen: dl })).toString('hex'), `len ${len} dkLen ${dl}`);
    }
  }
  const m = crypto.randomBytes(4096 + 24);
  const out = Buffer.alloc(64);
  new Blake2b(64).digestInto(m, out, 0);
  assert.equal(out.toString('hex'), crypto.createHash('blake2b512').update(m).digest('hex'));
});
