// Keyslot KDFs: PBKDF2 (node:crypto) and Argon2i/Argon2id (RFC 9106). Argon2 runs natively through
// @node-rs/argon2 (binaries in its per-platform npm packages, threads for the lanes); when that binary is
// missing it falls back to @noble/hashes' pure-JS argon2 (correct, much slower) with one notice.
import crypto from 'node:crypto';
import os from 'node:os';
import { createRequire } from 'node:module';
import { argon2iAsync, argon2idAsync } from '@noble/hashes/argon2.js';
import { IntegrityStudioError } from '../errors.js';
import { nodeHash } from './header.js';
import type { Luks2Kdf } from './types.js';

interface NativeArgon2 {
  hashRaw(
    password: Uint8Array,
    o: { salt: Uint8Array; algorithm: number; version: number; memoryCost: number; timeCost: number; parallelism: number; outputLen: number },
  ): Promise<Buffer>;
}

let native: NativeArgon2 | null | undefined;
let noticed = false;
/** where the one fallback notice goes (stderr by default; tests and the host may redirect it) */
export let kdfNotice: (msg: string) => void = (m) => process.stderr.write(`integrity-studio: ${m}\n`);
export function setKdfNotice(fn: (msg: string) => void): void {
  kdfNotice = fn;
}

function loadNative(): NativeArgon2 | null {
  if (native !== undefined) return native;
  if (process.env.INTEGRITY_STUDIO_NO_NATIVE_ARGON2) return (native = null);
  try {
    native = createRequire(import.meta.url)('@node-rs/argon2') as NativeArgon2;
  } catch {
    native = null;
  }
  return native;
}

/** 'native' (@node-rs/argon2) or 'js' (@noble/hashes fallback) */
export function argon2Backend(): 'native' | 'js' {
  return loadNative() ? 'native' : 'js';
}

export interface KdfProgress {
  phase: 'kdf-start' | 'kdf' | 'kdf-end';
  keyslot?: number;
  kdf: Luks2Kdf['type'];
  /** estimated duration from the costs, ms (a guess, labelled as such) */
  estimateMs: number;
  elapsedMs: number;
  /** elapsed / estimate, capped at 0.99 until the end */
  fraction: number;
}

// ms per (KiB × pass) for one lane, measured once per process on a small run
let argonRate: number | undefined;
async function argon2Rate(): Promise<number> {
  if (argonRate !== undefined) return argonRate;
  const m = 8192;
  const t0 = performance.now();
  await argon2Raw(new Uint8Array(1), new Uint8Array(16), 'argon2id', 1, m, 1, 32);
  argonRate = (performance.now() - t0) / m;
  return argonRate;
}

/** A guess at how long `kdf` takes here, from its costs (ms). */
export async function estimateKdfMs(kdf: Luks2Kdf, keyLen: number): Promise<number> {
  if (kdf.type === 'pbkdf2') {
    const h = nodeHash(kdf.hash) ?? 'sha256';
    const n = 2000;
    const t0 = performance.now();
    crypto.pbkdf2Sync('x', 'salt', n, keyLen, h);
    return ((performance.now() - t0) / n) * kdf.iterations;
  }
  const lanes = Math.max(1, Math.min(kdf.cpus, os.availableParallelism()));
  return ((await argon2Rate()) * kdf.memory * kdf.time) / (argon2Backend() === 'native' ? lanes : 1);
}

async function argon2Raw(pw: Uint8Array, salt: Uint8Array, type: 'argon2i' | 'argon2id', t: number, m: number, p: number, len: number): Promise<Buffer> {
  const n = loadNative();
  if (n) {
    return n.hashRaw(pw, { salt, algorithm: type === 'argon2id' ? 2 : 1, version: 1 /* 0x13 */, memoryCost: m, timeCost: t, parallelism: p, outputLen: len });
  }
  if (!noticed) {
    noticed = true;
    kdfNotice('the native Argon2 (@node-rs/argon2) is not available on this machine; using the pure-JavaScript Argon2 (same result, several times slower)');
  }
  const f = type === 'argon2id' ? argon2idAsync : argon2iAsync;
  return Buffer.from(await f(pw, salt, { t, m, p, dkLen: len }));
}

/** Derives `keyLen` bytes from `passphrase` with a keyslot's KDF. */
export async function deriveKey(
  passphrase: Uint8Array,
  kdf: Luks2Kdf,
  keyLen: number,
  onProgress?: (p: KdfProgress) => void,
  keyslot?: number,
): Promise<Buffer> {
  const salt = Buffer.from(kdf.salt, 'base64');
  const estimateMs = onProgress ? await estimateKdfMs(kdf, keyLen) : 0;
  const t0 = performance.now();
  const report = (phase: KdfProgress['phase']) => {
    const elapsedMs = performance.now() - t0;
    onProgress?.({
      phase,
      keyslot,
      kdf: kdf.type,
      estimateMs,
      elapsedMs,
      fraction: phase === 'kdf-end' ? 1 : Math.min(0.99, estimateMs ? elapsedMs / estimateMs : 0),
    });
  };
  report('kdf-start');
  const timer = onProgress ? setInterval(() => report('kdf'), 250) : undefined;
  try {
    if (kdf.type === 'pbkdf2') {
      const h = nodeHash(kdf.hash);
      if (!h) throw new IntegrityStudioError(`keyslot ${keyslot ?? ''}: pbkdf2 hash "${kdf.hash}" is not supported here`.replace('  ', ' '));
      return await new Promise<Buffer>((res, rej) => crypto.pbkdf2(passphrase, salt, kdf.iterations, keyLen, h, (e, k) => (e ? rej(e) : res(k))));
    }
    return await argon2Raw(passphrase, salt, kdf.type, kdf.time, kdf.memory, kdf.cpus, keyLen);
  } finally {
    if (timer) clearInterval(timer);
    report('kdf-end');
  }
}
