// Every IV mode dm-crypt allows with integrity, against the kernel (issue 17 item 12). Boot 1: cryptsetup
// luksFormat makes each mode the release accepts (every one must on the default 6.1 + cryptsetup 2.6.1; another
// release reports what it refuses), the kernel writes and reads it. Here: the same bytes read through engine/luks
// and engine/crypt, then we write through the journal and corrupt one data byte and one tag byte elsewhere, and
// scrub names exactly those two sectors; the modes luks-format makes are formatted here and written. Boot 2: the
// kernel reads all of it (dd conv=noerror, the sectors it reports zeroed as ours read): the same bytes as ours,
// AEAD errors at exactly the sectors we named, none on ours; then it writes to ours and we read that back.
// One disk, sliced in the guest with dm-linear (a case per slice), so the cases need no disk each.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { PROJECT_ROOT } from '../../testing/golden.js';
import { runOracle, skipWithoutOracle } from '../../testing/oracle.js';
import { unlockCryptVolume, type CryptVolume } from './volume.js';
import { formatCryptVolume } from './format.js';
import { scrubCrypt } from './scrub.js';
import { segmentOf } from '../../testing/luks-segment.js';
import { unlockLuks2 } from '../luks/index.js';
import { dataSector, tagOffset } from '../layout/geometry.js';
import { SECTOR_SIZE } from '../layout/superblock.js';

const PW = 'ivmodes-pass';
const SLICE = 3 << 20;
const PB = '--pbkdf pbkdf2 --pbkdf-force-iterations 1000';
/** what cryptsetup 2.6.1 formats and kernel 6.1 opens with integrity (probed in the guest; lmk, eboiv, elephant,
 *  essiv with gcm/chacha20/aegis128 and cbc-random are refused there) */
const KERNEL_MADE: Array<[string, string]> = [
  ['xts-plain64', '--cipher aes-xts-plain64 --integrity hmac-sha256 --key-size 512'],
  ['xts-plain64-4096', '--cipher aes-xts-plain64 --integrity hmac-sha256 --key-size 256 --sector-size 4096'],
  ['xts-plain64-sha1', '--cipher aes-xts-plain64 --integrity hmac-sha1 --key-size 512'],
  ['xts-plain', '--cipher aes-xts-plain --integrity hmac-sha256 --key-size 256'],
  ['xts-plain64be', '--cipher aes-xts-plain64be --integrity hmac-sha256 --key-size 512'],
  ['xts-essiv', '--cipher aes-xts-essiv:sha256 --integrity hmac-sha256 --key-size 512'],
  ['xts-essiv-sha512-4096', '--cipher aes-xts-essiv:sha256 --integrity hmac-sha512 --key-size 512 --sector-size 4096'],
  ['xts-benbi', '--cipher aes-xts-benbi --integrity hmac-sha256 --key-size 512'],
  ['xts-null', '--cipher aes-xts-null --integrity hmac-sha256 --key-size 512'],
  ['xts-tcw', '--cipher aes-xts-tcw --integrity hmac-sha256 --key-size 512'],
  ['cbc-plain64', '--cipher aes-cbc-plain64 --integrity hmac-sha256 --key-size 256'],
  ['cbc-plain', '--cipher aes-cbc-plain --integrity hmac-sha256 --key-size 128'],
  ['cbc-plain64be', '--cipher aes-cbc-plain64be --integrity hmac-sha256 --key-size 256'],
  ['cbc-essiv', '--cipher aes-cbc-essiv:sha256 --integrity hmac-sha256 --key-size 256'],
  ['cbc-essiv-4096', '--cipher aes-cbc-essiv:sha256 --integrity hmac-sha256 --key-size 128 --sector-size 4096'],
  ['cbc-benbi', '--cipher aes-cbc-benbi --integrity hmac-sha256 --key-size 256'],
  ['cbc-null', '--cipher aes-cbc-null --integrity hmac-sha256 --key-size 256'],
  ['ctr-plain64', '--cipher aes-ctr-plain64 --integrity hmac-sha256 --key-size 256'],
  ['ctr-random', '--cipher aes-ctr-random --integrity hmac-sha256 --key-size 256'],
  ['gcm-plain64', '--cipher aes-gcm-plain64 --integrity aead --key-size 256'],
  ['gcm-plain64-4096', '--cipher aes-gcm-plain64 --integrity aead --key-size 128 --sector-size 4096'],
  ['gcm-plain', '--cipher aes-gcm-plain --integrity aead --key-size 256'],
  ['gcm-plain64be', '--cipher aes-gcm-plain64be --integrity aead --key-size 256'],
  ['gcm-benbi', '--cipher aes-gcm-benbi --integrity aead --key-size 256'],
  ['gcm-null', '--cipher aes-gcm-null --integrity aead --key-size 256'],
  ['chacha-plain64', '--cipher chacha20-plain64 --integrity poly1305 --key-size 256'],
  ['chacha-plain64-4096', '--cipher chacha20-plain64 --integrity poly1305 --key-size 256 --sector-size 4096'],
  ['chacha-plain64be', '--cipher chacha20-plain64be --integrity poly1305 --key-size 256'],
  ['chacha-benbi', '--cipher chacha20-benbi --integrity poly1305 --key-size 256'],
  ['chacha-null', '--cipher chacha20-null --integrity poly1305 --key-size 256'],
  ['aegis-plain64', '--cipher aegis128-plain64 --integrity aead --key-size 128'],
  ['aegis-null-4096', '--cipher aegis128-null --integrity aead --key-size 128 --sector-size 4096'],
  ['ccm-random', '--cipher aes-ccm-random --integrity aead --key-size 152'],
  ['ccm-plain64', '--cipher aes-ccm-plain64 --integrity aead --key-size 280'],
];
/** what luks-format here makes with a computed IV (formatRefusal allows) */
const OURS: Array<[string, string, string, number, number]> = [
  ['fmt-xts-plain64', 'aes-xts-plain64', 'hmac-sha256', 512, 512],
  ['fmt-xts-plain64-sha512-4096', 'aes-xts-plain64', 'hmac-sha512', 512, 4096],
  ['fmt-xts-essiv-2048', 'aes-xts-essiv:sha256', 'hmac-sha256', 256, 2048],
  ['fmt-cbc-essiv', 'aes-cbc-essiv:sha256', 'hmac-sha256', 256, 512],
  ['fmt-xts-plain64be-sha1-1024', 'aes-xts-plain64be', 'hmac-sha1', 512, 1024],
];

const BOOT1 = `
set -e
echo -n "$PW" > /tmp/pw
modprobe aegis128 2>/dev/null || true
k=0
for c in $CASES; do
  eval "args=\\$ARGS_$c"
  dmsetup create s$k --table "0 $SLICE linear /dev/vda $((k * SLICE))"
  echo "@@case $c"
  if cryptsetup luksFormat --type luks2 --batch-mode --key-file /tmp/pw --luks2-metadata-size 16k --luks2-keyslots-size 512k $args /dev/mapper/s$k >/tmp/f.log 2>&1; then
    cryptsetup open --key-file /tmp/pw /dev/mapper/s$k c
    echo "@@table $(dmsetup table c | sed 's/:logon:[^ ]*/:logon:KEY/')"
    n=$(blockdev --getsz /dev/mapper/c)
    dd if=/oracle/src of=/dev/mapper/c bs=4096 count=32 conv=fsync 2>/dev/null
    dd if=/oracle/src of=/dev/mapper/c bs=4096 skip=$((n / 8 - 1)) seek=$((n / 8 - 1)) count=1 conv=fsync 2>/dev/null
    echo "@@sha $(dd if=/dev/mapper/c bs=4096 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)"
    cryptsetup close c
  else
    echo "@@refused $(tail -3 /tmp/f.log | tr '\\n' ' ') $(dmesg | grep -o 'crypt: .*' | tail -1)"
  fi
  dmsetup remove s$k
  k=$((k + 1))
done
echo "@@done"
`;

const BOOT2 = `
set -e
echo -n "$PW" > /tmp/pw
modprobe aegis128 2>/dev/null || true
dmesg -c >/dev/null
k=0
for c in $CASES; do
  eval "at=\\$AT_$k; len=\\$LEN_$k; bs=\\$BS_$k"
  dmsetup create s$k --table "0 $len linear /dev/vda $at"
  echo "@@case $c"
  cryptsetup open --key-file /tmp/pw /dev/mapper/s$k x
  dd if=/dev/mapper/x of=/tmp/r bs=$bs iflag=direct conv=noerror,sync 2>/dev/null || true
  errs=$(dmesg -c | grep -o 'INTEGRITY AEAD ERROR, sector [0-9]*' | grep -o '[0-9]*$' | tr '\\n' ' ')
  # a failing O_DIRECT read leaves what dm-crypt read in place (the ciphertext) in dd's buffer: zero the sectors
  # the kernel reported, as our reads give them
  for e in $errs; do dd if=/dev/zero of=/tmp/r bs=$bs seek=$((e * 512 / bs)) count=1 conv=notrunc 2>/dev/null; done
  echo "@@sha $(sha256sum /tmp/r | cut -d' ' -f1)"
  echo "@@errors $errs"
  rm -f /tmp/r
  case $c in fmt_*)
    dd if=/dev/urandom of=/dev/mapper/x bs=4096 count=16 seek=4 oflag=direct conv=fsync 2>/dev/null
    echo "@@sha2 $(dd if=/dev/mapper/x bs=4096 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)";;
  esac
  cryptsetup close x
  dmsetup remove s$k
  k=$((k + 1))
done
echo "@@done"
`;

function section(out: string, name: string): string | undefined {
  return out.split('@@case ').find((s) => s.startsWith(`${name}\n`));
}

function readAll(v: CryptVolume, bad: number[] = []): Buffer {
  const out = Buffer.alloc(v.size);
  v.read(0, v.sectors, out, 0, (s) => bad.push(s));
  return out;
}

const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

test('every IV mode the kernel allows with integrity: kernel-made volumes read, written and scrubbed here; ours open in the kernel', {
  timeout: 1_800_000,
}, async (t) => {
  if (skipWithoutOracle(t)) return;
  const release = process.env.ORACLE_RELEASE ?? 'bookworm';
  fs.mkdirSync(path.join(PROJECT_ROOT, '.tmp'), { recursive: true });
  const dir = fs.mkdtempSync(path.join(PROJECT_ROOT, '.tmp', 'ivmodes-oracle-'));
  const pw = path.join(dir, 'pw');
  fs.writeFileSync(pw, PW);
  fs.writeFileSync(path.join(dir, 'src'), crypto.randomBytes(1 << 20));
  const big = path.join(dir, 'big.img');
  fs.writeFileSync(big, '');
  fs.truncateSync(big, KERNEL_MADE.length * SLICE);
  const env: Record<string, string> = { PW, SLICE: String(SLICE / SECTOR_SIZE), CASES: KERNEL_MADE.map(([n]) => n.replace(/-/g, '_')).join(' ') };
  for (const [n, args] of KERNEL_MADE) env[`ARGS_${n.replace(/-/g, '_')}`] = `${args} ${PB}`;
  const r1 = runOracle(BOOT1, [big], { env, files: [path.join(dir, 'src')], timeoutSec: 1500 });
  assert.equal(r1.status, 0, r1.stdout + r1.stderr);
  assert.match(r1.stdout, /@@done/);

  // kernel-made: read here, then our writes, then two corruptions our scrub must name
  const boot2: Array<{ name: string; img: string; ss: number; sha: string; errors: number[]; sha2?: boolean }> = [];
  const refused: string[] = [];
  const bigFd = fs.openSync(big, 'r');
  for (const [k, [name]] of KERNEL_MADE.entries()) {
    const sec = section(r1.stdout, name.replace(/-/g, '_'));
    assert.ok(sec, `${name} in the guest output`);
    if (sec.includes('@@refused')) {
      refused.push(`${name}: ${/@@refused (.*)/.exec(sec)![1]}`);
      continue;
    }
    const kernelSha = /@@sha ([0-9a-f]{64})/.exec(sec)?.[1];
    assert.ok(kernelSha, `${name}: the kernel's read`);
    const img = path.join(dir, `${name}.img`);
    const b = Buffer.alloc(SLICE);
    fs.readSync(bigFd, b, 0, SLICE, k * SLICE);
    fs.writeFileSync(img, b);
    const { volume: v } = await unlockCryptVolume(img, { keyFile: pw });
    const ss = v.segment.sector_size;
    let corrupt: Array<{ sector: number; pos: number }>;
    try {
      assert.equal(sha(readAll(v)), kernelSha, `${name}: reads what the kernel read (${/@@table (.*)/.exec(sec)?.[1]})`);
      assert.equal(v.stats.failed_sectors, 0, name);
      const g = v.integrity.geometry;
      // a data byte of sector 64 and a tag byte of sector 128 (both written by the kernel, neither by us below)
      corrupt = [
        { sector: 64, pos: v.segment.offset + dataSector(g, 64) * SECTOR_SIZE + 33 },
        { sector: 128, pos: v.segment.offset + tagOffset(g, 128) + 1 },
      ];
    } finally {
      v.close();
    }
    const { volume: w } = await unlockCryptVolume(img, { keyFile: pw }, { readOnly: false });
    try {
      w.write(320 * SECTOR_SIZE, crypto.randomBytes(16384));
      w.write(w.size - 8192, crypto.randomBytes(8192));
      w.flush();
    } finally {
      w.close();
    }
    const fd = fs.openSync(img, 'r+');
    for (const c of corrupt) {
      const one = Buffer.alloc(1);
      fs.readSync(fd, one, 0, 1, c.pos);
      one[0]! ^= 0x5a;
      fs.writeSync(fd, one, 0, 1, c.pos);
    }
    fs.closeSync(fd);
    const bad: number[] = [];
    const { volume: r } = await unlockCryptVolume(img, { keyFile: pw });
    let ours: string;
    try {
      ours = sha(readAll(r, bad));
    } finally {
      r.close();
    }
    assert.deepEqual(bad, [64, 128], `${name}: exactly the corrupted sectors fail`);
    process.env.INTEGRITY_STUDIO_STATE_DIR = path.join(dir, 'state');
    const { volumeKey } = await unlockLuks2(img, { keyFile: pw });
    const scrub = await scrubCrypt(img, segmentOf(img), volumeKey, { reset: true });
    volumeKey.fill(0);
    delete process.env.INTEGRITY_STUDIO_STATE_DIR;
    assert.deepEqual(scrub.bad_sectors, [64, 128], `${name}: scrub names exactly the corrupted sectors`);
    boot2.push({ name, img, ss, sha: ours, errors: [64, 128] });
  }
  fs.closeSync(bigFd);
  if (release === 'bookworm') assert.deepEqual(refused, [], 'cryptsetup 2.6.1 / kernel 6.1 made every case');
  else for (const r of refused) t.diagnostic(`${release} refuses ${r}`);

  // formatted here (the computed-IV modes luks-format makes), written here
  for (const [name, cipher, integrity, keySize, sectorSize] of OURS) {
    const img = path.join(dir, `${name}.img`);
    fs.writeFileSync(img, '');
    fs.truncateSync(img, 19 << 20);
    await formatCryptVolume(img, { secret: { keyFile: pw }, cipher, integrity, keySize, sectorSize, pbkdf: 'pbkdf2', pbkdfIterations: 1000 });
    const { volume: v } = await unlockCryptVolume(img, { keyFile: pw }, { readOnly: false });
    try {
      assert.equal(v.cipher.ivMode, cipher.replace(/^aes-[a-z]+-/, ''));
      v.write(0, crypto.randomBytes(65536));
      v.write(1 << 20, crypto.randomBytes(8192));
      v.flush();
      boot2.push({ name, img, ss: sectorSize, sha: sha(readAll(v)), errors: [], sha2: true });
    } finally {
      v.close();
    }
  }

  // boot 2: the kernel reads everything
  const all = path.join(dir, 'all.img');
  const env2: Record<string, string> = { PW, CASES: boot2.map((c) => c.name.replace(/-/g, '_')).join(' ') };
  let at = 0;
  const out = fs.openSync(all, 'w');
  for (const [k, c] of boot2.entries()) {
    const b = fs.readFileSync(c.img);
    fs.writeSync(out, b, 0, b.length, at);
    Object.assign(env2, { [`AT_${k}`]: String(at / SECTOR_SIZE), [`LEN_${k}`]: String(b.length / SECTOR_SIZE), [`BS_${k}`]: String(c.ss) });
    at += b.length;
  }
  fs.closeSync(out);
  const r2 = runOracle(BOOT2, [all], { env: env2, timeoutSec: 1500 });
  assert.equal(r2.status, 0, r2.stdout + r2.stderr);
  at = 0;
  for (const c of boot2) {
    const sec = section(r2.stdout, c.name.replace(/-/g, '_'));
    assert.ok(sec, `${c.name} in the second boot's output:\n${r2.stdout.slice(-2000)}`);
    assert.match(sec, new RegExp(`@@sha ${c.sha}`), `${c.name}: the kernel reads what we read (our writes; failing sectors as zeros)`);
    const errs = (/@@errors ([0-9 ]*)/.exec(sec)?.[1] ?? '').trim();
    assert.deepEqual([...new Set(errs ? errs.split(/ +/).map(Number) : [])], c.errors, `${c.name}: the kernel's AEAD errors are the sectors we named`);
    if (c.sha2) {
      const want = /@@sha2 ([0-9a-f]{64})/.exec(sec)?.[1];
      assert.ok(want, c.name);
      // the kernel's writes to our volume, read here
      const size = fs.statSync(c.img).size;
      const b = Buffer.alloc(size);
      const fd = fs.openSync(all, 'r');
      fs.readSync(fd, b, 0, size, at);
      fs.closeSync(fd);
      fs.writeFileSync(c.img, b);
      const { volume: v } = await unlockCryptVolume(c.img, { keyFile: pw });
      try {
        assert.equal(sha(readAll(v)), want, `${c.name}: the kernel's writes read here`);
      } finally {
        v.close();
      }
    }
    at += fs.statSync(c.img).size;
  }
  fs.rmSync(dir, { recursive: true, force: true });
});
