// Makes the LUKS2 authenticated golden images (testing/data/crypt) in the kernel oracle: cryptsetup 2.6.1
// luksFormat + writes through /dev/mapper (tools/golden/crypt-make-golden.sh), then corrupted copies read by the kernel
// (tools/golden/crypt-read-corrupt.sh) to record exactly which sectors it reports. Run by hand:
//   node dist/tools/golden/crypt-make-golden.js                      (every case, a new manifest)
//   node dist/tools/golden/crypt-make-golden.js --only a,corrupt-b   (those cases, merged into the manifest)
// The keys are test keys, recorded in the manifest on purpose (fixtures, not user data).
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { PROJECT_ROOT, SHARED } from '../../testing/golden.js';
import { segmentOf } from '../../testing/luks-segment.js';
import { openCryptVolume } from '../../engine/crypt/volume.js';
import { dataSector, tagOffset } from '../../engine/layout/geometry.js';
import { SECTOR_SIZE } from '../../engine/layout/superblock.js';

export const TESTDATA = path.join(PROJECT_ROOT, 'testing', 'data', 'crypt');
export const PASSPHRASE = 'golden-pass';
const IMAGE_BYTES = 3 << 20;
/** smaller images for the IV-mode cases (their ciphertext does not compress): enough for the writes below */
const IMAGE_BYTES_OF: Record<string, number> = {};

/** The data written in the guest: 32-byte blocks sha256("crypt-golden" ‖ tag ‖ le32(i)). */
export function pattern(bytes: number, tag = ''): Buffer {
  const out = Buffer.alloc(bytes);
  for (let i = 0; i * 32 < bytes; i++) {
    const n = Buffer.alloc(4);
    n.writeUInt32LE(i);
    crypto
      .createHash('sha256')
      .update('crypt-golden')
      .update(tag)
      .update(n)
      .digest()
      .copy(out, i * 32);
  }
  return out;
}
/** The volume key: its first key-size bytes. */
export const VOLUME_KEY = pattern(128, 'volume-key');

const PB = '--pbkdf pbkdf2 --pbkdf-force-iterations 1000';
export const CASES: Record<string, string> = {
  'xts-hmac256-512': `--cipher aes-xts-random --integrity hmac-sha256 --key-size 512 ${PB}`,
  'xts-hmac256-4096': `--cipher aes-xts-random --integrity hmac-sha256 --key-size 512 --sector-size 4096 ${PB}`,
  'xts-hmac512-4096': `--cipher aes-xts-random --integrity hmac-sha512 --key-size 512 --sector-size 4096 ${PB}`,
  'gcm-512': `--cipher aes-gcm-random --integrity aead --key-size 256 ${PB}`,
  'gcm-4096': `--cipher aes-gcm-random --integrity aead --key-size 256 --sector-size 4096 ${PB}`,
  'chacha-poly-512': `--cipher chacha20-random --integrity poly1305 --key-size 256 ${PB}`,
  'aegis128-4096': `--cipher aegis128-random --integrity aead --key-size 128 --sector-size 4096 ${PB}`,
  'argon2id-xts-hmac256':
    '--cipher aes-xts-random --integrity hmac-sha256 --key-size 512 --pbkdf argon2id --pbkdf-memory 32768 --pbkdf-force-iterations 4 --pbkdf-parallel 1',
  journal: `--cipher aes-xts-random --integrity hmac-sha256 --key-size 512 ${PB}`,
  // computed IVs (issue 17 item 12): nothing but the tag in the tuple, the IV made from the sector
  'xts-plain64-hmac256-512': `--cipher aes-xts-plain64 --integrity hmac-sha256 --key-size 512 ${PB}`,
  'xts-plain64-hmac512-4096': `--cipher aes-xts-plain64 --integrity hmac-sha512 --key-size 512 --sector-size 4096 ${PB}`,
  'xts-essiv-hmac256-4096': `--cipher aes-xts-essiv:sha256 --integrity hmac-sha256 --key-size 512 --sector-size 4096 ${PB}`,
  'cbc-essiv-hmac256-512': `--cipher aes-cbc-essiv:sha256 --integrity hmac-sha256 --key-size 256 ${PB}`,
  'gcm-plain64-4096': `--cipher aes-gcm-plain64 --integrity aead --key-size 256 --sector-size 4096 ${PB}`,
  'chacha-plain64-512': `--cipher chacha20-plain64 --integrity poly1305 --key-size 256 ${PB}`,
  'ccm-random-4096': `--cipher aes-ccm-random --integrity aead --key-size 280 --sector-size 4096 ${PB}`,
};
for (const n of ['xts-plain64-hmac256-512', 'cbc-essiv-hmac256-512', 'chacha-plain64-512']) IMAGE_BYTES_OF[n] = 2.5 * (1 << 20);
for (const n of ['xts-plain64-hmac512-4096', 'xts-essiv-hmac256-4096', 'gcm-plain64-4096', 'ccm-random-4096']) IMAGE_BYTES_OF[n] = 1.75 * (1 << 20);

/** the volume key's length for a case: --key-size plus the MAC key cryptsetup adds (INTEGRITY_key_size) */
function keyBytesOf(args: string): number {
  const ks = Number(/--key-size (\d+)/.exec(args)![1]) / 8;
  const mac = /hmac-sha512/.test(args) ? 64 : /hmac-sha256/.test(args) ? 32 : /hmac-sha1/.test(args) ? 20 : 0;
  return ks + mac;
}

const CORRUPT: Array<{ from: string; name: string; flips: Array<{ what: string; sector: number }> }> = [
  {
    from: 'xts-hmac256-512',
    name: 'corrupt-xts-hmac256-512',
    flips: [
      { what: 'data', sector: 100 },
      { what: 'tag', sector: 300 },
      { what: 'iv', sector: 301 },
    ],
  },
  {
    from: 'gcm-4096',
    name: 'corrupt-gcm-4096',
    flips: [
      { what: 'data', sector: 64 },
      { what: 'tag', sector: 600 },
    ],
  },
  {
    from: 'xts-plain64-hmac256-512',
    name: 'corrupt-xts-plain64-hmac256-512',
    flips: [
      { what: 'data', sector: 100 },
      { what: 'tag', sector: 300 },
    ],
  },
  {
    from: 'gcm-plain64-4096',
    name: 'corrupt-gcm-plain64-4096',
    flips: [
      { what: 'data', sector: 64 },
      { what: 'tag', sector: 512 },
    ],
  },
  {
    from: 'xts-essiv-hmac256-4096',
    name: 'corrupt-xts-essiv-hmac256-4096',
    flips: [
      { what: 'data', sector: 8 },
      { what: 'tag', sector: 560 },
    ],
  },
];

function run(script: string, disks: string[], env: Record<string, string>, files: string[]): string {
  const args: string[] = [];
  for (const d of disks) args.push('--disk', d);
  for (const f of files) args.push('--file', f);
  for (const [k, v] of Object.entries(env)) args.push('--env', `${k}=${v}`);
  args.push('--timeout', '900', script);
  const r = spawnSync(path.join(SHARED, 'oracle', 'run'), args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  return (r.stdout ?? '') + (r.stderr ?? '') + `\n@@run status ${r.status} ${r.error?.message ?? ''}\n`;
}

function sections(out: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  let cur: string[] | null = null;
  for (const line of out.split('\n')) {
    const c = /^@@case (\S+)/.exec(line);
    if (c) m.set(c[1]!, (cur = []));
    if (cur) cur.push(line);
  }
  return m;
}

function main(): void {
  const only = process.argv.indexOf('--only') > 0 ? process.argv[process.argv.indexOf('--only') + 1]!.split(',') : null;
  const work = fs.mkdtempSync(path.join(PROJECT_ROOT, '.tmp', 'crypt-golden-'));
  fs.writeFileSync(path.join(work, 'src'), pattern(1 << 20));
  fs.writeFileSync(path.join(work, 'src2'), pattern(1 << 20, 'lost'));
  fs.writeFileSync(path.join(work, 'vk'), VOLUME_KEY);
  const names = Object.keys(CASES).filter((n) => !only || only.includes(n));
  const disks = names.map((n) => {
    const p = path.join(work, `${n}.img`);
    fs.writeFileSync(p, '');
    fs.truncateSync(p, IMAGE_BYTES_OF[n] ?? IMAGE_BYTES);
    return p;
  });
  const env: Record<string, string> = { PW: PASSPHRASE, CASES: names.join(' '), VKHEX: VOLUME_KEY.subarray(0, 96).toString('hex') };
  for (const n of names) env[`ARGS_${n.replace(/[^A-Za-z0-9]/g, '_')}`] = CASES[n]!;
  env.CASES = names.map((n) => n.replace(/[^A-Za-z0-9]/g, '_')).join(' ');
  const out = run(
    path.join(PROJECT_ROOT, 'tools', 'golden', 'crypt-make-golden.sh'),
    disks,
    env,
    ['src', 'src2', 'vk'].map((f) => path.join(work, f)),
  );
  fs.writeFileSync(path.join(work, 'boot1.log'), out);
  const secs = sections(out);
  const images: Record<string, unknown>[] = [];
  names.forEach((n, i) => {
    const lines = secs.get(n.replace(/[^A-Za-z0-9]/g, '_'));
    if (!lines) throw new Error(`case ${n} missing from the guest output:\n${out.slice(-3000)}`);
    const get = (k: string) => lines.find((l) => l.startsWith(`@@${k} `))?.slice(k.length + 3) ?? null;
    const tIdx = lines.indexOf('@@table');
    const seg = segmentOf(disks[i]!);
    const keyBytes = keyBytesOf(CASES[n]!);
    images.push({
      name: n,
      file: `${n}.img.gz`,
      format_command: `cryptsetup luksFormat --type luks2 --batch-mode --key-file PW --volume-key-file VK --luks2-metadata-size 16k --luks2-keyslots-size 512k ${CASES[n]} /dev/vdX`,
      passphrase: PASSPHRASE,
      volume_key_hex: VOLUME_KEY.subarray(0, keyBytes).toString('hex'),
      segment: seg,
      dm_table: [lines[tIdx + 1], lines[tIdx + 2]],
      mapped_sectors: Number(get('size')),
      kernel_read_sha256: get('sha'),
      dmsetup_status: get('status'),
      writes:
        n === 'journal'
          ? {
              committed: [
                [0, 256],
                [512, 64],
              ],
              lost_uncommitted: [[768, 64]],
              note: 'written by hand-made tables with commit_time:60000 (O_DIRECT + fsync), then an uncommitted write, then sysrq b: the committed writes are in the journal only',
            }
          : {
              sectors: [
                [0, 256],
                [512, 64],
                ['last 8', 8],
              ],
              data: 'pattern(1 MiB) at the same offsets',
            },
    });
    fs.writeFileSync(path.join(TESTDATA, `${n}.img.gz`), zlib.gzipSync(fs.readFileSync(disks[i]!), { level: 9 }));
  });
  // corrupted copies: a data sector, an auth tag byte and (random IVs) an IV byte, then read by the kernel
  const corrupt = CORRUPT.filter((c) => !only || only.includes(c.name));
  const cdisks: string[] = [];
  const env2: Record<string, string> = { PW: PASSPHRASE, NAMES: corrupt.map((c) => c.name).join(' ') };
  const flipBytes: Array<Array<[number, number]>> = [];
  corrupt.forEach((c, k) => {
    if (!names.includes(c.from)) throw new Error(`${c.name} is made from ${c.from}: make both in one run`);
    const src = disks[names.indexOf(c.from)]!;
    const dst = path.join(work, `${c.name}.img`);
    fs.copyFileSync(src, dst);
    const seg = segmentOf(dst);
    const vol = openCryptVolume(dst, seg, VOLUME_KEY.subarray(0, keyBytesOf(CASES[c.from]!)));
    const g = vol.integrity.geometry;
    const positions = c.flips.map((f) =>
      f.what === 'data'
        ? seg.offset + dataSector(g, f.sector) * SECTOR_SIZE + 17
        : seg.offset + tagOffset(g, f.sector) + (f.what === 'tag' ? 3 : vol.cipher.authSize + 2),
    );
    vol.close();
    const fd = fs.openSync(dst, 'r+');
    for (const pos of positions) {
      const b = Buffer.alloc(1);
      fs.readSync(fd, b, 0, 1, pos);
      b[0]! ^= 0x5a;
      fs.writeSync(fd, b, 0, 1, pos);
    }
    fs.closeSync(fd);
    flipBytes.push(positions.map((p) => [p, 0x5a]));
    env2[`BS_${k + 1}`] = String(seg.sector_size);
    cdisks.push(dst);
  });
  const out2 = cdisks.length ? run(path.join(PROJECT_ROOT, 'tools', 'golden', 'crypt-read-corrupt.sh'), cdisks, env2, []) : '';
  fs.writeFileSync(path.join(work, 'boot2.log'), out2);
  const secs2 = sections(out2);
  corrupt.forEach((c, k) => {
    const lines = secs2.get(c.name);
    if (!lines) throw new Error(`corrupt case ${c.name} missing:\n${out2.slice(-3000)}`);
    const kernel = lines
      .map((l) => /INTEGRITY AEAD ERROR, sector (\d+)/.exec(l))
      .filter((m) => m)
      .map((m) => Number(m![1]));
    const base = images.find((im) => im.name === c.from)!;
    // stored as the base image plus the flipped bytes (byte offset, xor), not as a second copy
    images.push({
      ...base,
      name: c.name,
      corrupted_from: c.from,
      flips: c.flips,
      kernel_aead_error_sectors: kernel,
      kernel_read_sha256: undefined,
      flip_bytes: flipBytes[k],
    });
  });
  let all = images;
  if (only) {
    // merged: the cases made now replace their old entries, the others stay as they were
    const old: Array<Record<string, unknown>> = JSON.parse(fs.readFileSync(path.join(TESTDATA, 'manifest.json'), 'utf8')).images;
    all = [...old.filter((o) => !images.some((im) => im.name === o.name)), ...images];
  }
  fs.writeFileSync(
    path.join(TESTDATA, 'manifest.json'),
    JSON.stringify({ made_by: 'tools/golden/crypt-make-golden.ts (cryptsetup 2.6.1, kernel 6.1 in the oracle)', images: all }, null, 1) + '\n',
  );
  console.log(`wrote ${images.length} images to ${TESTDATA}; logs in ${work}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === new URL(import.meta.url).pathname) main();
