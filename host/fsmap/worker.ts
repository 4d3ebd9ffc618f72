// worker_threads entry: what a volume's known damage holds (engine/fsmap mapBadSectors over the volume's unverified
// data), and the rewrite of the known bad blocks the file system says are free — off the host's event loop (a big file
// system takes seconds). The known damage is read here from the scrub's damage logs (engine/jobs/damage.ts), so
// nothing unbounded crosses the thread boundary on the way in. Posts one answer: done, or one error line.
import crypto from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { IntegrityStudioError } from '../../engine/errors.js';
import { allRanges, type DamageKind, type DamageSource } from '../../engine/jobs/damage.js';
import { openVolume, type VolumeOptions } from '../../engine/volume.js';
import { openWritable } from '../../engine/integrity/writable.js';
import { openCryptVolume, type CryptSegment } from '../../engine/crypt/volume.js';
import { checkFree, cryptSource, volumeSource, type SectorRange, type SectorSource } from '../../engine/fsmap/index.js';
import { mapLimited } from './limit.js';
import { DAMAGE_FIRST_RANGES, type FsType } from '../../engine/api.js';

/** the volume: a plain one with its open options (keys as bytes), or a LUKS2 one with its segment and volume key */
export type Target = { path: string; options: VolumeOptions; luks?: undefined } | { path: string; luks: { segment: CryptSegment; volumeKey: Uint8Array } };

export type FsMapWorkerData =
  | { op: 'map'; target: Target; sources: Array<{ src: DamageSource; from?: number }> }
  | { op: 'plan'; target: Target; sources: Array<{ src: DamageSource; from?: number }> }
  | { op: 'rewrite'; target: Target; sources: Array<{ src: DamageSource; from?: number }>; digest: string };

/** What a rewrite would write: whole volume blocks of the known damage the file system says are free. */
export interface RewritePlan {
  fs: FsType | null;
  block_size: number;
  blocks: number;
  first: SectorRange[];
  ranges_total: number;
  /** free sectors left out: their volume block also holds sectors not free */
  skipped_sectors: number;
  /** known bad sectors the file system does not call free (in use, or it could not say) */
  not_free_sectors: number;
  /** the first reason one was not free */
  not_free_why: string | null;
  /** sha256 of the ranges: the rewrite recomputes the plan and writes only if it is the same */
  digest: string;
}

const KINDS = new Set<DamageKind>(['bad', 'read-error']);

function* pairs(sources: Array<{ src: DamageSource; from?: number }>): Generator<SectorRange> {
  for (const r of allRanges(sources, KINDS)) yield [r.first_sector, r.end_sector];
}

// keys arrive as Uint8Arrays (structured clone): the engine's key handling expects Buffers
const buf = (k?: Uint8Array) => (k ? Buffer.from(k.buffer, k.byteOffset, k.byteLength) : undefined);
function keysOf(o: VolumeOptions): VolumeOptions {
  return { ...o, integrityKey: buf(o.integrityKey), journalIntegrityKey: buf(o.journalIntegrityKey), journalCryptKey: buf(o.journalCryptKey) };
}

/** the volume's data as the file system sees it, read without verification; close() closes the volume */
function openSource(t: Target): { src: SectorSource; spb: number; close(): void } {
  if (t.luks) {
    const cv = openCryptVolume(t.path, t.luks.segment, t.luks.volumeKey);
    return { src: cryptSource(cv), spb: cv.spb, close: () => cv.close() };
  }
  const v = openVolume(t.path, { ...keysOf(t.options), readOnly: true });
  return { src: volumeSource(v), spb: v.geometry.sectors_per_block, close: () => v.close() };
}

/** the free known damage in whole volume blocks (a block also holding sectors in use is left out) */
function planOf(src: SectorSource, spb: number, sources: Array<{ src: DamageSource; from?: number }>): RewritePlan & { all: SectorRange[] } {
  const fc = checkFree(src, pairs(sources));
  const all: SectorRange[] = [];
  let skipped = 0,
    blocks = 0;
  for (const [a, b] of fc.free) {
    const x = Math.ceil(a / spb) * spb,
      y = Math.floor(b / spb) * spb;
    if (y <= x) {
      skipped += b - a;
      continue;
    }
    skipped += x - a + (b - y);
    const last = all[all.length - 1];
    if (last && last[1] === x) all[all.length - 1] = [last[0], y];
    else all.push([x, y]);
    blocks += (y - x) / spb;
  }
  let notFree = 0;
  for (const n of fc.not_free) notFree += n.range[1] - n.range[0];
  const digest = crypto.createHash('sha256').update(JSON.stringify(all)).digest('hex');
  return {
    fs: fc.fs,
    block_size: fc.block_size,
    blocks,
    first: all.slice(0, DAMAGE_FIRST_RANGES),
    ranges_total: all.length,
    skipped_sectors: skipped,
    not_free_sectors: notFree,
    not_free_why: fc.not_free[0]?.why ?? null,
    digest,
    all,
  };
}

const ZEROS = Buffer.alloc(1 << 20);
/** sectors read back at a time */
const CHUNK = ZEROS.length / 512;
const scratch = Buffer.alloc(ZEROS.length);

/** zeros through the write path, flushed, then every block read back through the verifying read */
function rewrite(t: Target, sources: Array<{ src: DamageSource; from?: number }>, digest: string) {
  const t0 = process.hrtime.bigint();
  let through: string;
  let write: (offset: number, data: Buffer) => void, flush: () => void, verify: (s: number, n: number, bad: (s: number) => void) => void, close: () => void;
  let src: SectorSource, spb: number;
  if (t.luks) {
    const cv = openCryptVolume(t.path, t.luks.segment, t.luks.volumeKey, { readOnly: false });
    src = cryptSource(cv);
    spb = cv.spb;
    through = `dm-crypt (${t.luks.segment.encryption}: a new IV and tag per sector), through the dm-integrity journal`;
    write = (o, d) => cv.write(o, d);
    flush = () => cv.flush();
    verify = (s, n, bad) => {
      cv.read(s, n, null, 0, bad);
    };
    close = () => cv.close();
  } else {
    const w = openWritable(t.path, keysOf(t.options));
    src = volumeSource(w);
    spb = w.geometry.sectors_per_block;
    through =
      w.mode === 'journal'
        ? 'the journal'
        : w.mode === 'bitmap'
          ? 'bitmap mode (in place, the region marked dirty first)'
          : 'direct mode (in place, no journal)';
    write = (o, d) => w.write(o, d);
    flush = () => w.flush();
    verify = (s, n, bad) => {
      w.target.read(s, n, scratch, 0, bad);
    };
    close = () => w.close();
  }
  try {
    const plan = planOf(src, spb, sources);
    if (plan.digest !== digest) {
      throw new IntegrityStudioError(
        `the free blocks are not the ones you were asked about any more (the file system now says ${plan.blocks} known bad block(s) are free): nothing was written; ask again`,
        'ECONFIRM',
      );
    }
    for (const [a, b] of plan.all) {
      for (let s = a; s < b; ) {
        const n = Math.min(b - s, ZEROS.length / 512);
        write(s * 512, ZEROS.subarray(0, n * 512));
        s += n;
      }
    }
    flush();
    const bad: number[] = [];
    for (const [a, b] of plan.all) {
      for (let s = a; s < b; s += CHUNK) verify(s, Math.min(CHUNK, b - s), (x) => bad.push(x));
    }
    if (bad.length)
      throw new IntegrityStudioError(
        `${bad.length} rewritten block(s) did not read back verified (first at sector ${bad[0]}): the device may be failing`,
        'EIO',
      );
    return {
      blocks: plan.blocks,
      ranges: plan.first,
      ranges_total: plan.ranges_total,
      skipped_sectors: plan.skipped_sectors,
      fs: plan.fs,
      written_through: through,
      stats: { elapsed_ms: Number(process.hrtime.bigint() - t0) / 1e6 },
    };
  } finally {
    close();
  }
}

const d = workerData as FsMapWorkerData;
try {
  if (d.op === 'rewrite') parentPort!.postMessage({ type: 'done', result: rewrite(d.target, d.sources, d.digest) });
  else {
    const o = openSource(d.target);
    try {
      if (d.op === 'map') parentPort!.postMessage({ type: 'done', result: mapLimited(o.src, pairs(d.sources)) });
      else {
        const { all: _all, ...plan } = planOf(o.src, o.spb, d.sources);
        parentPort!.postMessage({ type: 'done', result: plan });
      }
    } finally {
      o.close();
    }
  }
} catch (e) {
  const err = e as Error & { code?: unknown };
  parentPort!.postMessage({ type: 'error', message: err.message, code: typeof err.code === 'string' ? err.code : undefined });
} finally {
  // this thread's copies of the keys
  if (d.target.luks) d.target.luks.volumeKey.fill(0);
  else for (const k of [d.target.options.integrityKey, d.target.options.journalIntegrityKey, d.target.options.journalCryptKey]) k?.fill(0);
}
