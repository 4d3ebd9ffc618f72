// Benchmark: unlocking a default cryptsetup LUKS2 header (luksFormat's defaults: argon2id benchmarked to
// ~2 s, memory up to 1 GiB, up to 4 threads) here vs `cryptsetup open --test-passphrase` on the same header.
// Target: ours ≤ 3× cryptsetup's. Needs the host's cryptsetup (no device-mapper needed for either step).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readLuks2Header, unlockLuks2, argon2Backend } from '../../engine/luks/index.js';

export interface LuksKdfBench {
  kdf: string;
  cryptsetupMs: number;
  oursMs: number;
  ratio: number;
  backend: 'native' | 'js';
}

/** cryptsetup's ceiling: what its benchmark would pick on an idle machine with RAM and 4 cores */
const HEAVY = ['--pbkdf', 'argon2id', '--pbkdf-memory', '1048576', '--pbkdf-force-iterations', '4', '--pbkdf-parallel', '4'];

/**
 * Formats a header with cryptsetup's defaults (and one with its 1 GiB / 4-thread ceiling when `heavy`), then
 * times both unlocks (best of `runs`). Null when cryptsetup is missing.
 */
export async function benchLuksKdf(log: (s: string) => void = console.log, runs = 2, heavy = true): Promise<LuksKdfBench[] | null> {
  const cs = spawnSync('sh', ['-c', 'command -v cryptsetup'], { encoding: 'utf8' }).stdout.trim();
  if (!cs) {
    log('LUKS2 KDF: skipped (cryptsetup is not installed)');
    return null;
  }
  const out = [await benchOne(cs, [], 'default cryptsetup header', log, runs)];
  if (heavy) out.push(await benchOne(cs, HEAVY, 'cryptsetup header at its ceiling', log, runs));
  return out;
}

async function benchOne(cs: string, extra: string[], what: string, log: (s: string) => void, runs: number): Promise<LuksKdfBench> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'luks-bench-'));
  try {
    const img = path.join(dir, 'default.luks2');
    const pw = path.join(dir, 'pw');
    fs.writeFileSync(pw, 'benchmark passphrase');
    fs.writeFileSync(img, '');
    fs.truncateSync(img, 20 << 20);
    const f = spawnSync(cs, ['luksFormat', '--type', 'luks2', '--batch-mode', '--key-file', pw, ...extra, img], { encoding: 'utf8' });
    if (f.status !== 0) throw new Error(`cryptsetup luksFormat failed: ${f.stderr}`);
    const ks = readLuks2Header(img).keyslots[0];
    if (!ks) throw new Error('cryptsetup luksFormat made a header with no keyslot');
    const kdf =
      ks.kdf.type === 'pbkdf2'
        ? `pbkdf2-${ks.kdf.hash} ${ks.kdf.iterations} iterations`
        : `${ks.kdf.type} time ${ks.kdf.time}, memory ${ks.kdf.memory} KiB, ${ks.kdf.cpus} threads`;
    let cryptsetupMs = Infinity;
    let oursMs = Infinity;
    for (let i = 0; i < runs; i++) {
      let t0 = performance.now();
      const o = spawnSync(cs, ['open', '--test-passphrase', '--key-file', pw, img], { encoding: 'utf8' });
      if (o.status !== 0) throw new Error(`cryptsetup open --test-passphrase failed: ${o.stderr}`);
      cryptsetupMs = Math.min(cryptsetupMs, performance.now() - t0);
      t0 = performance.now();
      const r = await unlockLuks2(img, { keyFile: pw });
      oursMs = Math.min(oursMs, performance.now() - t0);
      r.volumeKey.fill(0);
    }
    const ratio = oursMs / cryptsetupMs;
    log(
      `LUKS2 unlock of a ${what} (${kdf}), best of ${runs}: cryptsetup open --test-passphrase ${(cryptsetupMs / 1000).toFixed(2)} s, ours (${argon2Backend()} argon2) ${(oursMs / 1000).toFixed(2)} s, ratio ${ratio.toFixed(2)}× (target ≤ 3×)`,
    );
    return { kdf, cryptsetupMs, oursMs, ratio, backend: argon2Backend() };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  await benchLuksKdf();
}
