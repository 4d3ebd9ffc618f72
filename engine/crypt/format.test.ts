// luks-format with computed IVs: the modes it makes round-trip through the engine's own unlock; the ones it refuses
// (an IV that repeats) and wrong key sizes are refused with the reason before a byte is written. The kernel's side
// is ivmodes.oracle.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { PROJECT_ROOT } from '../../testing/golden.js';
import { formatCryptVolume } from './format.js';
import { unlockCryptVolume } from './volume.js';

function image(): { dir: string; img: string; pw: string } {
  fs.mkdirSync(path.join(PROJECT_ROOT, '.tmp'), { recursive: true });
  const dir = fs.mkdtempSync(path.join(PROJECT_ROOT, '.tmp', 'crypt-format-'));
  const img = path.join(dir, 'v.img');
  const pw = path.join(dir, 'pw');
  fs.writeFileSync(pw, 'format-pass');
  fs.writeFileSync(img, '');
  fs.truncateSync(img, 18 << 20);
  return { dir, img, pw };
}

const FAST = { pbkdf: 'pbkdf2' as const, pbkdfIterations: 1000 };

test('luks-format aes-xts-plain64 and aes-cbc-essiv:sha256: a tag of the MAC alone, wiped sectors read as zeros, writes read back', async () => {
  for (const [cipher, keySize, tag] of [
    ['aes-xts-plain64', 512, 32],
    ['aes-cbc-essiv:sha256', 256, 32],
  ] as const) {
    const { dir, img, pw } = image();
    const r = await formatCryptVolume(img, { secret: { keyFile: pw }, integrity: 'hmac-sha256', cipher, keySize, ...FAST });
    assert.equal(r.tag_size, tag, `${cipher}: no IV stored in the tuple`);
    assert.equal(r.info.dataSegment.encryption, cipher);
    const { volume: v } = await unlockCryptVolume(img, { keyFile: pw }, { readOnly: false });
    try {
      assert.equal(v.cipher.ivMode, cipher.replace(/^aes-[a-z]+-/, ''));
      const all = Buffer.alloc(v.size, 1);
      assert.equal(v.read(0, v.sectors, all), 0);
      assert.ok(all.equals(Buffer.alloc(v.size)), `${cipher}: the wipe wrote zeros every sector authenticates`);
      const data = crypto.randomBytes(8192);
      v.write(4096, data);
      const back = Buffer.alloc(8192);
      v.read(8, 16, back);
      assert.ok(back.equals(data));
    } finally {
      v.close();
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('luks-format refuses a repeating IV and a wrong key size with the reason, before writing anything', async () => {
  const { dir, img, pw } = image();
  const cases: Array<[Parameters<typeof formatCryptVolume>[1], RegExp]> = [
    [
      { secret: { keyFile: pw }, integrity: 'aead', cipher: 'aes-gcm-plain64', keySize: 256, ...FAST },
      /makes no new aes-gcm-plain64 \+ aead volume: .*nonce and keystream repeat.*Volumes cryptsetup made this way are read/,
    ],
    [{ secret: { keyFile: pw }, integrity: 'poly1305', cipher: 'chacha20-plain64', ...FAST }, /nonce and keystream repeat/],
    [{ secret: { keyFile: pw }, integrity: 'hmac-sha256', cipher: 'aes-cbc-plain64', keySize: 256, ...FAST }, /watermarking\); use essiv:sha256/],
    [{ secret: { keyFile: pw }, integrity: 'hmac-sha256', cipher: 'aes-xts-null', ...FAST }, /same IV/],
    [{ secret: { keyFile: pw }, integrity: 'hmac-sha256', cipher: 'aes-xts-lmk', ...FAST }, /IV mode lmk cannot be used with authenticated encryption/],
    [{ secret: { keyFile: pw }, integrity: 'aead', cipher: 'aes-ccm-random', ...FAST }, /a 256-bit key is not valid \(--key-size: 152, 216, 280\)/],
    [{ secret: { keyFile: pw }, integrity: 'hmac-sha256', cipher: 'aes-xts-tcw', sectorSize: 4096, ...FAST }, /needs 512-byte sectors/],
  ];
  for (const [o, want] of cases) await assert.rejects(formatCryptVolume(img, o), want, String(o.cipher));
  const fd = fs.openSync(img, 'r');
  const head = Buffer.alloc(18 << 20);
  fs.readSync(fd, head, 0, head.length, 0);
  fs.closeSync(fd);
  assert.ok(
    head.every((b) => b === 0),
    'nothing written',
  );
  fs.rmSync(dir, { recursive: true, force: true });
});
