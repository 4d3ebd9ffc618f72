import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { readLuks2Header, LuksHeaderError } from './index.js';
import { LUKS_FIXTURES, luksFixtures, unpackLuksFixture } from '../../testing/luks-fixtures.js';
import { must, nth } from '../../testing/must.js';
import { MemoryDevice } from '../io/device.js';
import { headerChecksum, LUKS2_HDR_BIN_LEN, OFF, readLuks2HeaderFrom } from './header.js';

const expect: Record<string, { enc: string; integ: string; sector: number; vk: number; ik: number }> = {
  a: { enc: 'aes-xts-random', integ: 'hmac(sha256)', sector: 512, vk: 96, ik: 32 },
  b: { enc: 'aes-gcm-random', integ: 'aead', sector: 4096, vk: 32, ik: 0 },
  c: { enc: 'chacha20-random', integ: 'poly1305', sector: 512, vk: 32, ik: 0 },
  d: { enc: 'aegis128-random', integ: 'aead', sector: 4096, vk: 16, ik: 0 },
  e: { enc: 'aes-xts-random', integ: 'hmac(sha512)', sector: 4096, vk: 128, ik: 64 },
};

test('cryptsetup-made headers parse: segment, integrity, keyslots, digests, tokens', () => {
  for (const name of Object.keys(luksFixtures())) {
    const p = unpackLuksFixture(name);
    const info = readLuks2Header(p);
    assert.equal(info.used, 'primary', name);
    assert.ok(info.primary.valid && info.secondary.valid, name);
    assert.equal(info.hdrSize, 16384);
    assert.equal(info.config.keyslotsSize, 16744448);
    assert.equal(info.dataSegment.offset, 16777216);
    assert.equal(info.dataSegment.size, 'dynamic');
    assert.equal(info.volumeKeySize * 2, must(luksFixtures()[name], `fixture ${name}`).volumeKey.length, name);
    const e = expect[name];
    if (e) {
      assert.equal(info.dataSegment.encryption, e.enc);
      assert.equal(info.dataSegment.integrity?.type, e.integ);
      assert.equal(info.dataSegment.sectorSize, e.sector);
      assert.equal(info.volumeKeySize, e.vk);
      assert.equal(info.dataSegment.integrity?.keySize, e.ik);
      assert.equal(info.encryptionKeySize, e.vk - e.ik);
    }
  }
  const a = readLuks2Header(unpackLuksFixture('a'));
  assert.equal(a.label, 'fx-a');
  assert.deepEqual(
    a.keyslots.map((k) => k.id),
    [0, 1],
  );
  assert.deepEqual(nth(a.digests, 0, 'digest').keyslots, [0, 1]);
  const b = readLuks2Header(unpackLuksFixture('b'));
  const token = nth(b.tokens, 0, 'token');
  assert.equal(token.id, 2);
  assert.equal(token.type, 'studio-test');
  assert.deepEqual(token.fields, { note: 'fixture' });
  const f = readLuks2Header(unpackLuksFixture('f'));
  const ks = nth(f.keyslots, 0, 'keyslot');
  assert.deepEqual(ks.kdf, { type: 'argon2id', time: 4, memory: 32768, cpus: 2, salt: ks.kdf.salt });
});

function corrupt(p: string, pos: number): void {
  const fd = fs.openSync(p, 'r+');
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, pos);
  b.writeUInt8(b.readUInt8(0) ^ 0x55, 0);
  fs.writeSync(fd, b, 0, 1, pos);
  fs.closeSync(fd);
}

test('a corrupt primary: the secondary copy is used and the primary named as bad', () => {
  const p = unpackLuksFixture('a');
  corrupt(p, 4096 + 10); // inside the primary JSON area
  const info = readLuks2Header(p);
  assert.equal(info.used, 'secondary');
  assert.equal(info.primary.valid, false);
  assert.match(info.primary.problem!, /checksum mismatch/);
  assert.equal(info.keyslots.length, 2);
  const q = unpackLuksFixture('a');
  corrupt(q, 0); // primary magic
  const i2 = readLuks2Header(q);
  assert.equal(i2.used, 'secondary');
  assert.match(i2.primary.problem!, /bad magic/);
});

test('both copies corrupt: one error naming both; a corrupt secondary alone still reads', () => {
  const p = unpackLuksFixture('a');
  corrupt(p, 4096 + 10);
  corrupt(p, 16384 + 4096 + 10);
  assert.throws(
    () => readLuks2Header(p),
    (e: unknown) => {
      assert.ok(e instanceof LuksHeaderError);
      assert.match((e as Error).message, /primary header \(offset 0\): checksum mismatch.*secondary header \(offset 16384\): checksum mismatch/);
      return true;
    },
  );
  const q = unpackLuksFixture('a');
  corrupt(q, 16384 + 300);
  const i = readLuks2Header(q);
  assert.equal(i.used, 'primary');
  assert.equal(i.secondary.valid, false);
});

test('truncated file and a file with no LUKS header get clear errors', () => {
  const p = unpackLuksFixture('a');
  fs.truncateSync(p, 10000);
  assert.throws(
    () => readLuks2Header(p),
    (e: Error) =>
      e.message.startsWith(
        `${p} is not a valid LUKS2 device: primary header (offset 0): truncated: the device ends at 10000 bytes, inside the JSON area (4096..16384); `,
      ),
  );
  const q = unpackLuksFixture('a');
  fs.truncateSync(q, 1 << 20);
  // what the header needs: both metadata copies and the keyslots area, as cryptsetup's luksDump of it gives them
  const dump = fs.readFileSync(path.join(LUKS_FIXTURES, luksFixtures().a!.luksDump), 'utf8');
  const area = (name: string) => Number(new RegExp(`^${name} area: \\t(\\d+) \\[bytes\\]$`, 'm').exec(dump)![1]!);
  const need = 2 * area('Metadata') + area('Keyslots');
  assert.throws(() => readLuks2Header(q), {
    message: `${q} is too small for its LUKS2 header: ${1 << 20} bytes, the metadata and keyslots areas need ${need} (truncated?)`,
  });
  const z = q + '.zero';
  fs.writeFileSync(z, Buffer.alloc(1 << 20));
  assert.throws(() => readLuks2Header(z), /is not a valid LUKS device/);
});

test('header JSON: overlapping keyslot areas, overlapping segments, bytes after the JSON text: errors naming them', () => {
  const HS = 16384;
  const base = fs.readFileSync(unpackLuksFixture('a'));
  const jsonOf = (img: Buffer) => {
    const area = img.subarray(LUKS2_HDR_BIN_LEN, HS);
    return JSON.parse(area.subarray(0, area.indexOf(0)).toString());
  };
  /** both copies get `area` (the JSON area's bytes) and a valid checksum */
  const withArea = (make: (area: Buffer) => void): Buffer => {
    const img = Buffer.from(base);
    for (const off of [0, HS]) {
      const area = img.subarray(off + LUKS2_HDR_BIN_LEN, off + HS);
      area.fill(0);
      make(area);
      const bin = img.subarray(off, off + LUKS2_HDR_BIN_LEN);
      headerChecksum('sha256', bin, area).copy(bin, OFF.csum);
    }
    return img;
  };
  const withJson = (edit: (j: { keyslots: Record<string, { area: { offset: string } }>; segments: Record<string, unknown> }) => void) => {
    const j = jsonOf(base);
    edit(j);
    return withArea((area) => area.write(JSON.stringify(j)));
  };
  const read = (img: Buffer) => () => readLuks2HeaderFrom(new MemoryDevice(img, true, 'fx-a'));
  // the untouched copy reads
  assert.equal(
    readLuks2HeaderFrom(
      new MemoryDevice(
        withJson(() => {}),
        true,
        'fx-a',
      ),
    ).keyslots.length,
    2,
  );
  const overlapSlots = withJson((j) => {
    must(j.keyslots['1'], 'keyslot 1').area.offset = '49152';
  });
  assert.throws(read(overlapSlots), (e: Error) => e instanceof LuksHeaderError && /keyslot 0 and keyslot 1: areas overlap/.test(e.message));
  const overlapSegments = withJson((j) => {
    j.segments['1'] = { ...(j.segments['0'] as object), offset: '33554432' };
  });
  assert.throws(read(overlapSegments), (e: Error) => e instanceof LuksHeaderError && /segment 0 and segment 1: they overlap/.test(e.message));
  const trailing = withArea((area) => {
    const n = area.write(JSON.stringify(jsonOf(base)));
    area[n + 10] = 0x01;
  });
  assert.throws(read(trailing), (e: Error) => e instanceof LuksHeaderError && /forbidden byte 0x01 after the JSON text at offset \d+/.test(e.message));
});
