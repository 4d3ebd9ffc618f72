// Kernel check: a header we format (plain aes-xts-plain64; the integrity stack is the dm-crypt/dm-integrity side's
// round trip) opens with cryptsetup in the guest, and what the kernel encrypts decrypts here with the volume key
// our unlock returns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runOracle, skipWithoutOracle } from '../../testing/oracle.js';
import { formatLuks2Header, unlockLuks2 } from './index.js';

test("our LUKS2 header opens in the kernel; the kernel's ciphertext decrypts with our unlocked volume key", async (t) => {
  if (skipWithoutOracle(t)) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'luks-oracle-'));
  const img = path.join(dir, 'v.img');
  fs.writeFileSync(img, '');
  fs.truncateSync(img, 24 << 20);
  const pw = path.join(dir, 'pw');
  fs.writeFileSync(pw, 'oracle secret');
  await formatLuks2Header(img, { secret: { keyFile: pw }, pbkdf: 'pbkdf2', pbkdfIterations: 1000, label: 'oracle' });
  const r = runOracle(
    `cryptsetup open --key-file /oracle/pw /dev/vda t || exit 1
yes 'kernel wrote this' | head -c 65536 | dd of=/dev/mapper/t bs=4096 oflag=direct status=none || exit 2
cryptsetup close t || exit 3
echo DONE`,
    [img],
    { files: [pw + ':/oracle/pw'], timeoutSec: 300 },
  );
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /DONE/);
  const { volumeKey, info } = await unlockLuks2(img, { passphrase: Buffer.from('oracle secret') });
  const want = Buffer.alloc(65536);
  const line = Buffer.from('kernel wrote this\n');
  for (let i = 0; i < want.length; i += line.length) line.copy(want, i);
  const fd = fs.openSync(img, 'r');
  const ct = Buffer.alloc(65536);
  fs.readSync(fd, ct, 0, ct.length, info.dataSegment.offset);
  fs.closeSync(fd);
  const pt = Buffer.alloc(65536);
  for (let s = 0; s < 128; s++) {
    const iv = Buffer.alloc(16);
    iv.writeBigUInt64LE(BigInt(s));
    const d = crypto.createDecipheriv('aes-256-xts', volumeKey, iv).setAutoPadding(false);
    d.update(ct.subarray(s * 512, (s + 1) * 512)).copy(pt, s * 512);
  }
  volumeKey.fill(0);
  assert.ok(pt.equals(want));
});
