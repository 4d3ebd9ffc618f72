// Scrub throughput on a LUKS2 aes-xts-random + hmac-sha256 volume (512-byte sectors) next to the bare cipher+MAC
// speed of node:crypto over the same bytes in memory (per 512-byte sector: HMAC-SHA256 over AAD ‖ ciphertext,
// then AES-256-XTS decryption, as authenc does), so the ratio shows what the I/O, the dm-integrity layout and
// the per-sector calls cost. One core (the scrub runs in this thread). Figures only. The lead wires it into
// `npm run bench`; alone: node dist/tools/bench/luks-scrub.js [MiB] [cipher] (cipher: aes-xts-random, the default,
// or a computed-IV mode such as aes-xts-plain64 or aes-xts-essiv:sha256; the batched XTS path serves them all).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { formatCryptVolume } from '../../engine/crypt/format.js';
import { scrubCrypt } from '../../engine/crypt/scrub.js';
import { segmentFromLuks, unlockCryptVolume } from '../../engine/crypt/volume.js';
import { readLuks2Header, unlockLuks2 } from '../../engine/luks/index.js';

const MIB = 1 << 20;

export async function benchLuksScrub(
  mib = Number(process.env.BENCH_LUKS_MIB ?? 256),
  log: (s: string) => void = console.log,
  cipher = 'aes-xts-random',
): Promise<{ scrub_mib_s: number; bare_mib_s: number; bulk_mib_s: number }> {
  const dir = fs.mkdtempSync(path.join(process.env.BENCH_DIR ?? os.tmpdir(), 'is-luks-bench-'));
  const img = path.join(dir, 'luks.img');
  const pw = path.join(dir, 'pw');
  try {
    fs.writeFileSync(pw, 'bench');
    fs.writeFileSync(img, '');
    fs.truncateSync(img, (16 + mib) * MIB + (mib * MIB) / 8); // header, data and its tags (48 bytes per 512)
    const t0 = Date.now();
    await formatCryptVolume(img, { secret: { keyFile: pw }, integrity: 'hmac-sha256', cipher, keySize: 512, pbkdf: 'pbkdf2', pbkdfIterations: 1000 });
    const fmtMs = Date.now() - t0;
    const { volume } = await unlockCryptVolume(img, { keyFile: pw });
    const bytes = volume.size;
    volume.close();
    const info = readLuks2Header(img);
    const { volumeKey } = await unlockLuks2(img, { keyFile: pw });
    const t1 = Date.now();
    const r = await scrubCrypt(img, segmentFromLuks(info), volumeKey, { reset: true });
    const scrubMs = Date.now() - t1;
    if (r.failed_sectors) throw new Error(`bench volume failed ${r.failed_sectors} sectors`);
    // a read decrypts too (authenc: the MAC per sector, XTS batched per chunk)
    const rv = (await unlockCryptVolume(img, { keyFile: pw })).volume;
    const rbuf = Buffer.alloc(4 * MIB);
    const tr = Date.now();
    for (let s = 0; s < rv.sectors; s += rbuf.length / 512) rv.read(s, Math.min(rbuf.length / 512, rv.sectors - s), rbuf);
    const readMs = Date.now() - tr;
    rv.close();
    // the bare primitives over the same amount of data, in memory
    const encKey = volumeKey.subarray(0, 64);
    const macKey = volumeKey.subarray(64);
    const sector = crypto.randomBytes(512);
    const aad = Buffer.alloc(24);
    const n = Math.min(bytes, 128 * MIB) / 512;
    const t2 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      aad.writeUInt32LE(i, 0);
      crypto.createHmac('sha256', macKey).update(aad).update(sector).digest();
      const d = crypto.createDecipheriv('aes-256-xts', encKey, aad.subarray(8, 24));
      d.update(sector);
      d.final();
    }
    const bareMs = Number(process.hrtime.bigint() - t2) / 1e6;
    // the primitives' own speed without per-sector calls: one HMAC and one XTS call per 4 MiB
    const big = crypto.randomBytes(4 * MIB);
    const reps = Math.max(1, Math.min(32, bytes / (4 * MIB)));
    const t3 = process.hrtime.bigint();
    for (let i = 0; i < reps; i++) {
      crypto.createHmac('sha256', macKey).update(big).digest();
      const d = crypto.createDecipheriv('aes-256-xts', encKey, aad.subarray(8, 24));
      d.update(big);
      d.final();
    }
    const bulk = (reps * 4) / (Number(process.hrtime.bigint() - t3) / 1e9);
    volumeKey.fill(0);
    const scrub = bytes / MIB / (scrubMs / 1000);
    const bare = (n * 512) / MIB / (bareMs / 1000);
    log(`LUKS2 ${cipher} + hmac-sha256, 512-byte sectors, ${(bytes / MIB).toFixed(0)} MiB (format + wipe ${(fmtMs / 1000).toFixed(1)} s):`);
    log(`  scrub                                   ${scrub.toFixed(0).padStart(6)} MiB/s  (${r.checked_sectors} sectors authenticated, one core)`);
    log(
      `  read (decrypt + authenticate)           ${(bytes / MIB / (readMs / 1000)).toFixed(0).padStart(6)} MiB/s  (a scrub only authenticates: authenc's MAC is over the ciphertext)`,
    );
    log(`  bare node:crypto HMAC-SHA256 + AES-XTS  ${bare.toFixed(0).padStart(6)} MiB/s  (per 512-byte sector, in memory, one core)`);
    log(`  bare node:crypto, one call per 4 MiB    ${bulk.toFixed(0).padStart(6)} MiB/s  (the primitives without per-sector call overhead)`);
    log(`  scrub / bare per-sector                 ${(scrub / bare).toFixed(2).padStart(6)}`);
    return { scrub_mib_s: scrub, bare_mib_s: bare, bulk_mib_s: bulk };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === new URL(import.meta.url).pathname) {
  benchLuksScrub(process.argv[2] ? Number(process.argv[2]) : undefined, console.log, process.argv[3]).catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
