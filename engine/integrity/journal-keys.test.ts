// Journal MAC and encryption: the kernel-made golden image h (hmac-sha256 journal MAC, ctr(aes) journal
// encryption) decrypts to valid commit ids and valid section MACs; wrong keys give one clear error; journals we
// seal (every cipher) are replayed with their MACs checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { golden, goldenCopy, goldenPath, tmpDir, patternSector } from '../../testing/golden.js';
import { mkVolume } from '../../testing/mkvolume.js';
import { openVolume, type VolumeOptions } from '../volume.js';
import { SB_SECTORS, SECTOR_SIZE } from '../layout/superblock.js';
import { JOURNAL_SECTOR_DATA } from '../layout/geometry.js';
import { COMMIT_IDS, commitId, JournalWriter } from './journal-writer.js';
import { createJournalCodec, journalCipher, journalCodec } from './journal-keys.js';
import { readJournal, replayOnDisk, sectionSealer } from './replay.js';

const h = golden('h-journal-mac-crypt');
const hKeys: VolumeOptions = {
  journalIntegrity: 'hmac-sha256',
  journalIntegrityKey: Buffer.from(h.keys_hex!.journal_integrity_key!, 'hex'),
  journalCrypt: 'ctr-aes',
  journalCryptKey: Buffer.from(h.keys_hex!.journal_crypt_key!, 'hex'),
};
const dir = tmpDir('jkeys-');

function pattern(tag: string, start: number, sectors: number): Buffer {
  return Buffer.concat(Array.from({ length: sectors }, (_, i) => patternSector(tag, start + i)));
}

test('golden h: the decrypted journal carries valid (encrypted) commit ids and valid section MACs', () => {
  const vol = openVolume(goldenPath(h.files[0]!), hKeys);
  try {
    const codec = journalCodec(vol);
    assert.ok(codec.encrypted && codec.mac);
    // under ctr(aes) the commit ids are the constants encrypted by the keystream's tail, not the constants
    assert.notDeepEqual(codec.commitIds, COMMIT_IDS);
    const plain = readJournal(vol);
    const g = vol.geometry;
    for (let i = 0; i < g.journal_sections; i++) {
      for (let j = 0; j < g.journal_section_sectors; j++) {
        const id = plain.readBigUInt64LE((i * g.journal_section_sectors + j) * SECTOR_SIZE + JOURNAL_SECTOR_DATA);
        assert.ok(
          [0, 1, 2, 3].some((s) => commitId(i, j, s, codec.commitIds) === id),
          `commit id of section ${i} sector ${j}`,
        );
      }
      codec.checkMac(plain, i); // the kernel's init_journal wrote these MACs
    }
    // the raw journal is not the plaintext
    const raw = Buffer.alloc(plain.length);
    vol.meta.read(raw, SB_SECTORS * SECTOR_SIZE);
    assert.ok(!raw.equals(plain));
    // and sealing the plaintext again gives the kernel's bytes exactly
    const sb = g.journal_section_sectors * SECTOR_SIZE;
    for (let i = 0; i < g.journal_sections; i++) {
      assert.ok(
        codec.seal(Buffer.from(plain.subarray(i * sb, (i + 1) * sb)), i).equals(raw.subarray(i * sb, (i + 1) * sb)),
        `section ${i} re-sealed byte-exact`,
      );
    }
  } finally {
    vol.close();
  }
});

test('golden h: a wrong journal key is one clear error; a missing journal MAC option too', () => {
  const img = goldenPath(h.files[0]!);
  assert.throws(
    () => openVolume(img, { ...hKeys, journalCryptKey: crypto.randomBytes(32) }),
    /cannot replay the journal: journal commit id not valid.*journal encryption key or algorithm is wrong/,
  );
  assert.throws(() => openVolume(img, { ...hKeys, journalCrypt: 'cbc-aes' }), /journal encryption key or algorithm is wrong/);
  assert.throws(() => openVolume(img, { ...hKeys, journalIntegrityKey: crypto.randomBytes(32) }), /superblock MAC mismatch/);
  assert.throws(() => openVolume(img, { journalCrypt: 'ctr-aes', journalCryptKey: hKeys.journalCryptKey }), /has a journal MAC/);
  assert.throws(
    () => openVolume(img, { ...hKeys, journalCrypt: 'ofb-aes' }),
    /unsupported journal encryption "ofb-aes".*supported: ctr-aes, cbc-aes, xts-aes, ecb-aes, chacha20/,
  );
  assert.throws(() => openVolume(img, { ...hKeys, journalCryptKey: undefined }), /needs --journal-crypt-key-file/);
});

test('journalCipher maps integritysetup names to the kernel ciphers', () => {
  assert.equal(journalCipher('ctr-aes', 32).kernelName, 'ctr(aes)');
  assert.equal(journalCipher('ctr(aes)', 16).node, 'aes-128-ctr');
  assert.equal(journalCipher('cbc-aes', 24).node, 'aes-192-cbc');
  assert.equal(journalCipher('xts-aes', 64).node, 'aes-256-xts');
  assert.equal(journalCipher('chacha20', 32).blockSize, 1);
  assert.throws(() => journalCipher('xts-aes', 16), /unsupported/);
});

for (const [crypt, keyLen, mac] of [
  ['ctr-aes', 32, 'hmac-sha256'],
  ['cbc-aes', 16, 'hmac-sha512'],
  ['xts-aes', 64, 'hmac-sha1'],
  ['ecb-aes', 32, null],
  ['chacha20', 32, 'hmac-sha256'],
  [null, 0, 'hmac-sha256'],
] as const) {
  test(`a committed journal we seal with ${crypt ?? 'no encryption'}${mac ? ` and ${mac}` : ''} is replayed with its MACs checked; a flipped entry fails the MAC`, async (t) => {
    const o: VolumeOptions = {
      journalCrypt: crypt ?? undefined,
      journalCryptKey: crypt ? crypto.randomBytes(keyLen) : undefined,
      journalIntegrity: mac ?? undefined,
      journalIntegrityKey: mac ? crypto.randomBytes(32) : undefined,
    };
    const img = path.join(dir, `j-${crypt}-${mac}.img`);
    mkVolume(img, { sizeBytes: 4 << 20, tagSize: 4, ...o });
    const vol = openVolume(img, { ...o, readOnly: false });
    const pos = replayOnDisk(vol);
    const codec = journalCodec(vol);
    const jw = new JournalWriter(vol.target, pos, sectionSealer(vol), codec.commitIds);
    jw.write(300, pattern('Q', 300, 40));
    jw.commit({ writeback: false });
    vol.close();
    // read-only: the entries are replayed in memory, MAC checked
    const ro = openVolume(img, o);
    assert.equal(ro.replay!.writes.length, 40);
    const b = Buffer.alloc(40 * 512);
    assert.equal(ro.target.read(300, 40, b), 0);
    assert.ok(b.equals(pattern('Q', 300, 40)));
    const raw = Buffer.alloc(ro.geometry.journal_section_sectors * SECTOR_SIZE);
    ro.meta.read(raw, SB_SECTORS * SECTOR_SIZE);
    ro.close();
    if (crypt) assert.equal(raw.indexOf(Buffer.from('Q  :')), -1, 'the journal holds no plaintext');
    // flip one bit of entry 0's sector field as it is on disk (under encryption: of its ciphertext, which changes the
    // plaintext the MAC covers): the section MAC no longer matches. Without a MAC nothing can tell: named as skipped.
    await t.test('a flipped entry fails the MAC', { skip: mac ? false : 'no journal MAC: a flipped entry has nothing to be checked against' }, () => {
      const bad = path.join(dir, `bad-${crypt}-${mac}.img`);
      fs.copyFileSync(img, bad);
      const fd = fs.openSync(bad, 'r+');
      const e = Buffer.alloc(8);
      fs.readSync(fd, e, 0, 8, SB_SECTORS * SECTOR_SIZE);
      e[0]! ^= 1;
      fs.writeSync(fd, e, 0, 8, SB_SECTORS * SECTOR_SIZE);
      fs.closeSync(fd);
      assert.throws(() => openVolume(bad, o), /journal MAC mismatch in journal section 0/);
    });
  });
}

test('the MAC covers salt and section number under fix_hmac (section_mac)', () => {
  const g = openVolume(goldenPath(h.files[0]!), hKeys);
  const geometry = g.geometry;
  g.close();
  const key = crypto.randomBytes(32);
  const plain = Buffer.alloc(geometry.journal_section_sectors * SECTOR_SIZE, 7);
  const a = createJournalCodec(geometry, Buffer.alloc(16, 1), { journalIntegrity: 'hmac-sha256', journalIntegrityKey: key });
  const b = createJournalCodec(geometry, Buffer.alloc(16, 2), { journalIntegrity: 'hmac-sha256', journalIntegrityKey: key });
  const c = createJournalCodec(geometry, null, { journalIntegrity: 'hmac-sha256', journalIntegrityKey: key });
  const macs = [
    a.seal(Buffer.from(plain), 0),
    a.seal(Buffer.from(plain), 1),
    b.seal(Buffer.from(plain), 0),
    c.seal(Buffer.from(plain), 0),
    c.seal(Buffer.from(plain), 1),
  ].map((s) => s.subarray(496, 504).toString('hex'));
  assert.equal(new Set(macs.slice(0, 4)).size, 4, 'salt and section change the MAC');
  assert.equal(macs[3], macs[4], 'without fix_hmac the section number is not hashed');
  // the MAC is hmac over the entries' 8-byte sector fields only
  const entries = Buffer.alloc(8 * geometry.journal_section_entries, 7);
  assert.equal(macs[3], crypto.createHmac('sha256', key).update(entries).digest().subarray(0, 8).toString('hex'));
});

test('golden h: writing with our journal keeps it readable with MAC + encryption (copy)', () => {
  const img = goldenCopy(h.files[0]!, dir);
  const vol = openVolume(img, { ...hKeys, readOnly: false });
  const pos = replayOnDisk(vol);
  const jw = new JournalWriter(vol.target, pos, sectionSealer(vol), journalCodec(vol).commitIds);
  jw.write(5000, pattern('H', 5000, 16));
  jw.commit({ writeback: false });
  vol.close();
  const ro = openVolume(img, hKeys);
  const b = Buffer.alloc(16 * 512);
  ro.target.read(5000, 16, b);
  ro.close();
  assert.ok(b.equals(pattern('H', 5000, 16)));
});

test('an xts key with two equal halves is one clear error (no OpenSSL stack)', () => {
  const img = path.join(dir, 'xts-dup.img');
  const half = crypto.randomBytes(32);
  assert.throws(
    () => mkVolume(img, { sizeBytes: 2 << 20, tagSize: 4, journalCrypt: 'xts-aes', journalCryptKey: Buffer.concat([half, half]) }),
    (e: Error) => e.name === 'IntegrityStudioError' && /journal encryption xts\(aes\)/.test(e.message),
  );
});
