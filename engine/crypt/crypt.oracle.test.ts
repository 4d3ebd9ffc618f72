// Round trips with the kernel (one boot): volumes written here — over cryptsetup-made goldens and over headers
// luks-formatted here — open with `cryptsetup open` in the guest, read back what we wrote byte for byte, and the
// kernel logs no AEAD error. (The other direction, kernel-written volumes read here, is crypt-golden.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import crypto from 'node:crypto';
import { PROJECT_ROOT } from '../../testing/golden.js';
import { runOracle, skipWithoutOracle } from '../../testing/oracle.js';
import { openCryptVolume, unlockCryptVolume } from './volume.js';
import { formatCryptVolume } from './format.js';
import { segmentOf } from '../../testing/luks-segment.js';

const TESTDATA = path.join(PROJECT_ROOT, 'testing', 'data', 'crypt');
const manifest: Array<{ name: string; file: string; volume_key_hex: string }> = JSON.parse(
  fs.readFileSync(path.join(TESTDATA, 'manifest.json'), 'utf8'),
).images;
const PW = 'golden-pass'; // the goldens' passphrase; the volumes formatted here use it too

interface Case {
  name: string;
  img: string;
  sha: string;
}

const GUEST = `
set -e
echo -n "$PW" > /tmp/pw
i=0
for c in $NAMES; do
  dev=/dev/vd$(echo abcdefghij | cut -c$((i + 1)))
  i=$((i + 1))
  echo "@@case $c"
  cryptsetup open --key-file /tmp/pw $dev x
  echo "@@sha $(dd if=/dev/mapper/x bs=4096 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)"
  echo "@@status $(dmsetup status x_dif)"
  case $c in kw-*)
    # the kernel writes too: read back here afterwards
    dd if=/dev/urandom of=/dev/mapper/x bs=4096 count=16 seek=4 oflag=direct conv=fsync 2>/dev/null
    echo "@@sha2 $(dd if=/dev/mapper/x bs=4096 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)";;
  esac
  cryptsetup close x
  echo "@@errors $(dmesg -c | grep -c 'INTEGRITY AEAD ERROR' || true)"
done
echo "@@done"
`;

test('volumes written and luks-formatted here open in the kernel and read back what we wrote', { timeout: 900_000 }, async (t) => {
  if (skipWithoutOracle(t)) return;
  const dir = fs.mkdtempSync(path.join(PROJECT_ROOT, '.tmp', 'crypt-oracle-'));
  const cases: Case[] = [];
  const writeAndHash = (_img: string, v: ReturnType<typeof openCryptVolume>, writes: Array<[number, number]>) => {
    for (const [off, len] of writes) v.write(off, crypto.randomBytes(len));
    v.flush();
    const all = Buffer.alloc(v.size);
    v.read(0, v.sectors, all);
    return crypto.createHash('sha256').update(all).digest('hex');
  };
  // 1. over the kernel's goldens: our writes through the journal (fresh random IVs), 512 and 4096-byte sectors
  for (const name of ['xts-hmac256-512', 'gcm-4096', 'chacha-poly-512', 'aegis128-4096', 'xts-hmac512-4096']) {
    const g = manifest.find((m) => m.name === name)!;
    const img = path.join(dir, `${name}.img`);
    fs.writeFileSync(img, zlib.gunzipSync(fs.readFileSync(path.join(TESTDATA, g.file))));
    const v = openCryptVolume(img, segmentOf(img), Buffer.from(g.volume_key_hex, 'hex'), { readOnly: false });
    let sha: string;
    try {
      sha = writeAndHash(img, v, [
        [0, 8192],
        [40960, 65536],
        [v.size - 4096, 4096],
      ]);
    } finally {
      v.close();
    }
    cases.push({ name: `ours-over-${name}`, img, sha });
  }
  // 2. luks-formatted here (header by engine/luks, dm-integrity and the wipe here), then written
  const pwFile = path.join(dir, 'pw');
  fs.writeFileSync(pwFile, PW);
  for (const [name, integrity, cipher, sectorSize] of [
    ['fmt-hmac-sha256-512', 'hmac-sha256', 'aes-xts-random', 512],
    ['fmt-aead-gcm-4096', 'aead', 'aes-gcm-random', 4096],
    ['fmt-poly1305-512', 'poly1305', 'chacha20-random', 512],
    // hmac-sha1 and the 1024/2048-byte encryption sectors; the kernel then writes to them and we read that back
    ['kw-hmac-sha1-1024', 'hmac-sha1', 'aes-xts-random', 1024],
    ['kw-hmac-sha256-2048', 'hmac-sha256', 'aes-xts-random', 2048],
  ] as const) {
    const img = path.join(dir, `${name}.img`);
    fs.writeFileSync(img, '');
    fs.truncateSync(img, 19 << 20);
    await formatCryptVolume(img, {
      secret: { keyFile: pwFile },
      integrity,
      cipher,
      sectorSize,
      keySize: cipher === 'aes-xts-random' ? 512 : 256,
      pbkdf: 'pbkdf2',
      pbkdfIterations: 1000,
    });
    const { volume: v } = await unlockCryptVolume(img, { keyFile: pwFile }, { readOnly: false });
    let sha: string;
    try {
      sha = writeAndHash(img, v, [
        [0, 65536],
        [1 << 20, 8192],
      ]);
    } finally {
      v.close();
    }
    cases.push({ name, img, sha });
  }
  const r = runOracle(
    GUEST,
    cases.map((c) => c.img),
    { env: { PW: PW, NAMES: cases.map((c) => c.name).join(' ') } },
  );
  assert.equal(r.status, 0, r.stdout + r.stderr);
  for (const c of cases) {
    const sec = r.stdout.split('@@case ').find((s) => s.startsWith(`${c.name}\n`));
    assert.ok(sec, `case ${c.name} in the guest output:\n${r.stdout}`);
    assert.match(sec, new RegExp(`@@sha ${c.sha}`), `${c.name}: the kernel reads what we wrote`);
    assert.match(sec, /@@errors 0/, `${c.name}: no AEAD error in the kernel log`);
    if (c.name.startsWith('kw-')) {
      const want = /@@sha2 ([0-9a-f]{64})/.exec(sec)?.[1];
      assert.ok(want, `${c.name}: the kernel's read after its write`);
      const { volume: v } = await unlockCryptVolume(c.img, { keyFile: pwFile });
      try {
        const all = Buffer.alloc(v.size);
        v.read(0, v.sectors, all);
        assert.equal(crypto.createHash('sha256').update(all).digest('hex'), want, `${c.name}: the kernel's writes read here`);
      } finally {
        v.close();
      }
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
});
