// The native tag hashing addon (native/: Node-API, C with SSE4.2 crc32, PCLMULQDQ and SHA extensions chosen at run
// time, portable C elsewhere), loaded once per thread with node-gyp-build (a prebuilt binary from native/prebuilds,
// or the one `npm ci` built in native/build). When it cannot load — no compiler at install, another platform,
// INTEGRITY_STUDIO_NO_NATIVE=1 — the engine uses its JavaScript hashes (the same tags, slower) and says so once
// on stderr (from the main thread) and in nativeStatus().
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';

export interface NativeHandle {
  readonly __native: unique symbol;
}

export interface NativeInfo {
  sse42: boolean;
  pclmul: boolean;
  sha_ni: boolean;
  openssl: boolean;
  selftest: boolean;
  sha512: string;
  /** helper threads of the process-wide pool (cores − 1) */
  helpers: number;
}

export interface NativeTags {
  /** impl: 0 default, 1 own code only, 2 OpenSSL for sha1/sha256 too (measuring) */
  create(algorithm: string, key: Uint8Array | null, salt: Uint8Array | null, tagSize: number, blockSize: number, impl: number): NativeHandle;
  /** tags of every block of data (first at `sector`) into out, on this thread */
  tags(h: NativeHandle, data: Uint8Array, sector: number, out: Uint8Array): void;
  /** hands the run to the helper threads and returns; true when they took it */
  begin(h: NativeHandle, data: Uint8Array, sector: number, out: Uint8Array): boolean;
  /** begin() of a read run: the threads pread each batch of blocks from fd at pos (+ the batch's offset) into data,
   *  then hash it, so the page-cache copy runs on every core too */
  beginRead(h: NativeHandle, fd: number, pos: number, data: Uint8Array, sector: number, out: Uint8Array): boolean;
  /** this thread hashes what is left of the run, then waits for the helpers; 0, or for a read run whose read failed
   *  its errno (-1: end of file), data and tags then incomplete */
  finish(h: NativeHandle): number;
  crc32cProbe(buf: Uint8Array): number;
  info(): NativeInfo;
  /** process-wide counters since load: runs handed to the helpers or hashed alone, blocks each side hashed, and
   *  the time callers waited for the helpers' last batches (the benchmark's breakdown) */
  stats(): NativePoolStats;
}

export interface NativePoolStats {
  pooled_runs: number;
  alone_runs: number;
  helper_blocks: number;
  caller_blocks: number;
  wait_ms: number;
}

export interface NativeStatus {
  loaded: boolean;
  /** why the JavaScript hashes are used, when not loaded */
  reason?: string;
  info?: NativeInfo;
}

let loaded: NativeTags | null | undefined;
let status: NativeStatus = { loaded: false, reason: 'not loaded yet' };

export function nativeTags(): NativeTags | null {
  if (loaded !== undefined) return loaded;
  const off = process.env.INTEGRITY_STUDIO_NO_NATIVE;
  if (off && off !== '0') {
    status = { loaded: false, reason: 'disabled by INTEGRITY_STUDIO_NO_NATIVE' };
    return (loaded = null);
  }
  try {
    const require = createRequire(import.meta.url);
    const load = require('node-gyp-build') as (dir: string) => NativeTags;
    const n = load(fileURLToPath(new URL('../../../native', import.meta.url)));
    const info = n.info();
    status = { loaded: true, info };
    loaded = n;
  } catch (e) {
    const reason = ((e as Error).message ?? String(e)).split('\n')[0]!;
    status = { loaded: false, reason };
    if (isMainThread) process.stderr.write(`integrity-studio: native tag hashing unavailable (${reason}); using the JavaScript hashes (same tags, slower)\n`);
    loaded = null;
  }
  return loaded;
}

export function nativeStatus(): NativeStatus {
  nativeTags();
  return status;
}
