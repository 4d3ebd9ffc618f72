// Crash-consistency torture: random write workloads through openWritable's machinery on a FaultDevice, then a
// power loss at random points of the device log, then a reopen that replays the journal as the kernel does on
// activation, then a full verified read. Checks, for every block: it passes verification; it holds one of the
// contents it could legally hold (its contents at the last completed flush, or anything written to it since);
// so every write completed before a finished flush is present. A discard leaves the data and writes the filler
// tag (which the kernel accepts): in journal and direct mode a discarded block must read as discarded once the
// discard is flushed (a lost discard is a violation) and as discarded only if a discard may have landed; in
// bitmap mode the reopen's recalculation legitimately gives dirty discarded blocks real tags again, so there a
// discarded block may hold anything. Everything is seeded; a violation names the seed to replay it.
// Bitmap mode: the reopen recalculates the dirty regions' tags (dm_integrity_resume), so nothing fails
// verification, but a torn multi-sector block keeps its torn data under its new tag, exactly as in the kernel:
// there, contents are checked per 512-byte sector (each sector holds one of its legal contents).
import {
  encodeSuperblock,
  SB_FLAG_FIXED_HMAC,
  SB_FLAG_FIXED_PADDING,
  SECTOR_SIZE,
  superblockVersion,
  type Superblock,
} from '../../engine/layout/superblock.js';
import { computeGeometry } from '../../engine/layout/geometry.js';
import { FaultDevice, prng } from '../../engine/io/fault.js';
import { MemoryDevice } from '../../engine/io/device.js';
import { openWritableOn } from '../../engine/integrity/writable.js';
import { openVolumeOn, type VolumeOptions } from '../../engine/volume.js';
import { initJournal } from '../../engine/integrity/replay.js';

export type CrashMode = 'journal' | 'bitmap' | 'direct';

export interface CrashConfig {
  mode: CrashMode;
  integrity: 'crc32c' | 'sha256' | 'hmac-sha256';
  blockSize: 512 | 4096;
  /** volume operations in the workload */
  ops: number;
  /** crash points tried over that workload */
  crashPoints: number;
  /** largest write, in blocks */
  maxBlocks: number;
  allowDiscards: boolean;
  seed: number;
}

export interface Violation {
  kind: 'verify' | 'lost-flushed-write' | 'lost-flushed-discard' | 'foreign-contents' | 'unverified';
  block: number;
  crashPoint: number;
  crashSeed: number;
}

export interface CrashResult {
  config: CrashConfig;
  deviceOps: number;
  crashPoints: number;
  /** crash points after which at least one block failed verification */
  verifyFailures: number;
  /** journal mode: flushed discards a crash undid as the kernel's can be (the block holds what it held before the discard) */
  undoneDiscards: number;
  violations: Violation[];
}

const TAG_SIZES = { crc32c: 4, sha256: 32, 'hmac-sha256': 32 } as const;
const ANY = null;

function fill(buf: Buffer, rand: () => number): Buffer {
  for (let i = 0; i + 4 <= buf.length; i += 4) buf.writeUInt32LE(Math.floor(rand() * 4294967296), i);
  return buf;
}

/** A small freshly formatted volume in memory (superblock + cleared journal + every block written). */
export function memoryVolume(
  c: Pick<CrashConfig, 'integrity' | 'blockSize' | 'seed'>,
  providedSectors = 1024,
): { image: Buffer; options: VolumeOptions; initial: Buffer } {
  const rand = prng(c.seed ^ 0x5eed);
  const log2spb = c.blockSize === 4096 ? 3 : 0;
  const flags = SB_FLAG_FIXED_PADDING | SB_FLAG_FIXED_HMAC;
  const sb: Superblock = {
    version: superblockVersion(flags, false, false),
    log2_interleave_sectors: 9, // several interleave areas in a small volume
    integrity_tag_size: TAG_SIZES[c.integrity],
    journal_sections: 3,
    provided_data_sectors: providedSectors,
    flags,
    log2_sectors_per_block: log2spb,
    log2_blocks_per_bitmap_bit: 0,
    recalc_sector: 0,
    salt: fill(Buffer.alloc(16), rand),
  };
  const g = computeGeometry({ ...sb, tag_size: sb.integrity_tag_size, meta_dev: false });
  const image = Buffer.alloc(g.meta_device_sectors_needed * SECTOR_SIZE);
  encodeSuperblock(sb).copy(image, 0);
  const options: VolumeOptions = { integrity: c.integrity, allowDiscards: true };
  if (c.integrity === 'hmac-sha256') options.integrityKey = fill(Buffer.alloc(32), rand);
  const dev = new MemoryDevice(image);
  // init_journal as at format time, then every block gets contents and a valid tag
  const raw = openVolumeOn(dev, null, 'crash-volume', { ...options, readOnly: false, superblockOnly: true });
  initJournal(raw, 0, g.journal_sections, 0);
  const vol = openWritableOn(dev, null, 'crash-volume', { ...options, mode: 'direct' });
  const initial = fill(Buffer.alloc(providedSectors * SECTOR_SIZE), rand);
  vol.write(0, initial);
  vol.close();
  return { image, options, initial };
}

interface VolOp {
  kind: 'write' | 'flush' | 'discard';
  block: number;
  blocks: number;
  data: Buffer | null;
  devStart: number;
  devEnd: number;
}

export function runCrash(c: CrashConfig): CrashResult {
  const rand = prng(c.seed);
  const { image, options, initial } = memoryVolume(c);
  const bs = c.blockSize;
  const nBlocks = initial.length / bs;
  const dev = new FaultDevice(image, 'crash-volume');
  const modeOptions: VolumeOptions = { ...options, mode: c.mode, allowDiscards: c.allowDiscards };
  // small bitmap regions, and (every other seed) bits cleared at each flush so crashes race the bitmap flush
  if (c.mode === 'bitmap') Object.assign(modeOptions, { bitmapSectorsPerBit: 64, bitmapFlushTime: c.seed % 2 ? 0 : 3600_000 });
  const vol = openWritableOn(dev, null, 'crash-volume', modeOptions);
  // per block: the history of what it may hold, [op index, contents or ANY, discarded]
  const history: Array<Array<[number, Buffer | null, boolean]>> = [];
  for (let b = 0; b < nBlocks; b++) history.push([[-1, initial.subarray(b * bs, (b + 1) * bs), false]]);
  const ops: VolOp[] = [];
  for (let i = 0; i < c.ops; i++) {
    const r = rand();
    const devStart = dev.log.length;
    if (r < 0.15) {
      vol.flush();
      ops.push({ kind: 'flush', block: 0, blocks: 0, data: null, devStart, devEnd: dev.log.length });
      continue;
    }
    const blocks = 1 + Math.floor(rand() * c.maxBlocks);
    const block = Math.floor(rand() * (nBlocks - blocks + 1));
    if (c.allowDiscards && r < 0.2) {
      vol.discard(block * bs, blocks * bs);
      for (let b = block; b < block + blocks; b++) history[b]!.push([ops.length, ANY, true]);
      ops.push({ kind: 'discard', block, blocks, data: null, devStart, devEnd: dev.log.length });
      continue;
    }
    const data = fill(Buffer.alloc(blocks * bs), rand);
    vol.write(block * bs, data);
    for (let b = 0; b < blocks; b++) history[block + b]!.push([ops.length, data.subarray(b * bs, (b + 1) * bs), false]);
    ops.push({ kind: 'write', block, blocks, data, devStart, devEnd: dev.log.length });
  }
  const result: CrashResult = { config: c, deviceOps: dev.log.length, crashPoints: 0, verifyFailures: 0, undoneDiscards: 0, violations: [] };
  const out = Buffer.alloc(initial.length);
  for (let p = 0; p < c.crashPoints; p++) {
    const k = Math.floor(rand() * (dev.log.length + 1));
    const crashSeed = Math.floor(rand() * 2 ** 31);
    const crashed = dev.crashAt(k, crashSeed);
    result.crashPoints++;
    // the last volume flush that had completed (all its device operations issued) before the crash
    let lastFlush = -1;
    for (let i = 0; i < ops.length; i++) if (ops[i]!.kind === 'flush' && ops[i]!.devEnd <= k) lastFlush = i;
    const after = new MemoryDevice(crashed, false, 'crashed');
    const re = openWritableOn(after, null, 'crashed', modeOptions);
    re.close();
    // then as a reader sees it: every block must be verified (a dirty bitmap region left unverified counts)
    const ro = openVolumeOn(new MemoryDevice(crashed, true, 'crashed'), null, 'crashed', { ...modeOptions, readOnly: true });
    const bad = new Set<number>();
    const discarded = new Set<number>();
    ro.target.onDiscarded = (s) => discarded.add(s / (bs / SECTOR_SIZE));
    ro.target.read(0, initial.length / SECTOR_SIZE, out, 0, (s) => bad.add(s / (bs / SECTOR_SIZE)));
    if (ro.target.stats.unchecked_blocks) {
      result.violations.push({ kind: 'unverified', block: -1, crashPoint: k, crashSeed });
    }
    ro.close();
    if (bad.size) result.verifyFailures++;
    const unit = c.mode === 'bitmap' ? SECTOR_SIZE : bs;
    for (let u = 0; u < initial.length / unit; u++) {
      const b = Math.floor((u * unit) / bs);
      const within = u * unit - b * bs;
      if (bad.has(b)) {
        if (within === 0) result.violations.push({ kind: 'verify', block: b, crashPoint: k, crashSeed });
        continue;
      }
      const got = out.subarray(u * unit, (u + 1) * unit);
      const h = history[b]!;
      // legal: the contents at the last completed flush, or anything issued after it (before the crash)
      let ok = false;
      let older = false;
      let baseline = 0;
      for (let i = 0; i < h.length; i++) if (h[i]![0] < lastFlush) baseline = i;
      const isDiscarded = discarded.has(b);
      for (let i = 0; i < h.length && !ok; i++) {
        const [opIndex, contents, wasDiscard] = h[i]!;
        const legal = i === baseline || (opIndex > lastFlush && ops[opIndex]!.devStart < k);
        // a discard keeps the data (any of it) and must show as discarded; anything else must not (journal, direct)
        const same =
          c.mode === 'bitmap'
            ? contents === ANY || contents.subarray(within, within + unit).equals(got)
            : wasDiscard
              ? isDiscarded
              : !isDiscarded && contents!.subarray(within, within + unit).equals(got);
        if (same && legal) ok = true;
        else if (same && i < baseline) older = true;
      }
      // Journal mode, as the kernel: a discard is not journalled (dm_integrity_map_continue writes the journal back,
      // then puts filler tags in place), so a power loss can undo a flushed one in two ways: replay_journal
      // re-applies the last write to the block still in the journal ring (seen in the VM:
      // tools/torture/discard.oracle.test.ts), or the filler tags never left the device's cache (integrity_commit
      // with nothing to commit ends a flush without flushing the device). Either way the block holds exactly what
      // it held just before the discard (its last write, or its first contents); anything else stays a violation.
      if (!ok && c.mode === 'journal' && h[baseline]![2] && !isDiscarded) {
        let j = baseline - 1;
        while (j > 0 && h[j]![2]) j--;
        const w = h[j]![1];
        if (w?.subarray(within, within + unit).equals(got)) {
          ok = true;
          if (within === 0) result.undoneDiscards++;
        }
      }
      if (!ok) {
        const kind = h[baseline]![2] && !isDiscarded ? 'lost-flushed-discard' : older ? 'lost-flushed-write' : 'foreign-contents';
        result.violations.push({ kind, block: b, crashPoint: k, crashSeed });
      }
    }
  }
  vol.close();
  return result;
}

/** One line per configuration, and the first violations with everything needed to replay them. */
export function describe(r: CrashResult): string {
  const c = r.config;
  let s =
    `${c.mode} ${c.integrity} bs=${c.blockSize} seed=${c.seed}: ${r.deviceOps} device ops, ${r.crashPoints} crash points, ` +
    `${r.verifyFailures} with blocks failing verification, ${r.undoneDiscards} flushed discards undone by the crash (as in the kernel), ${r.violations.length} violations`;
  for (const v of r.violations.slice(0, 3)) s += `\n  ${v.kind} block ${v.block} after crash at device op ${v.crashPoint} (crash seed ${v.crashSeed})`;
  return s;
}

export function crashConfigs(seed: number, crashPoints: number, ops: number): CrashConfig[] {
  const out: CrashConfig[] = [];
  let n = 0;
  for (const mode of ['journal', 'bitmap', 'direct'] as const) {
    for (const integrity of ['crc32c', 'sha256', 'hmac-sha256'] as const) {
      for (const blockSize of [512, 4096] as const) {
        out.push({
          mode,
          integrity,
          blockSize,
          ops,
          crashPoints,
          maxBlocks: 8,
          allowDiscards: mode === 'direct' ? true : n % 2 === 0,
          seed: (seed + 7919 * n++) >>> 0,
        });
      }
    }
  }
  return out;
}
