// Fuzzing the read side: kernel-made golden images with mutated superblocks (bit flips and field-targeted
// values), mutated journals (commit ids, entries, sector numbers out of range), corrupted tags and data, and
// truncations. Every case must end in a typed error (IntegrityStudioError and its FormatError /
// IntegrityError) or a valid open plus a full verify-read; never another exception, never a write during a
// read-only open (the devices refuse and count writes, and the image is hashed before and after), and never
// more than the per-case time bound. Writable opens (which replay the journal on disk) are fuzzed too, on
// copies, and must also be typed-or-valid.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { IntegrityStudioError } from '../../engine/errors.js';
import { SB_SECTORS, SECTOR_SIZE } from '../../engine/layout/superblock.js';
import { prng } from '../../engine/io/fault.js';
import { MemoryDevice, type BlockDevice } from '../../engine/io/device.js';
import { openVolumeOn, type VolumeOptions } from '../../engine/volume.js';
import { openWritableOn } from '../../engine/integrity/writable.js';
import { goldenManifest, goldenPath, type GoldenImage } from '../../testing/golden.js';

/** A device over memory that refuses and counts writes: a read-only open must issue none. */
class GuardDevice implements BlockDevice {
  readonly readOnly = true;
  writes = 0;
  private readonly mem: MemoryDevice;
  constructor(
    readonly data: Buffer,
    readonly name: string,
  ) {
    this.mem = new MemoryDevice(data, true, name);
  }
  get size(): number {
    return this.data.length;
  }
  read(buf: Uint8Array, pos: number): void {
    this.mem.read(buf, pos);
  }
  write(): void {
    this.writes++;
    throw new Error(`${this.name}: write during a read-only open`);
  }
  flush(): void {}
  close(): void {}
}

export interface FuzzSeed {
  name: string;
  meta: Buffer;
  data: Buffer | null;
  options: VolumeOptions;
}

export type Outcome = 'typed-error' | 'valid-open' | 'untyped-error' | 'wrote' | 'too-slow';

export interface FuzzCase {
  seed: number;
  image: string;
  mutation: string;
  outcome: Outcome;
  /** for valid opens: blocks that failed verification in the full read */
  badBlocks?: number;
  error?: string;
  ms: number;
}

export interface FuzzSummary {
  cases: number;
  typedErrors: number;
  validOpens: number;
  failures: FuzzCase[];
  slowestMs: number;
}

/** Key and option translation of a golden image's integritysetup open command. */
export function goldenOptions(im: GoldenImage): VolumeOptions {
  const w = im.open_command.split(/\s+/);
  const o: VolumeOptions = {};
  const keys = im.keys_hex ?? {};
  const val = (flag: string) => {
    const i = w.indexOf(flag);
    return i >= 0 ? w[i + 1] : undefined;
  };
  o.integrity = val('--integrity');
  if (keys.integrity_key) o.integrityKey = Buffer.from(keys.integrity_key, 'hex');
  o.journalIntegrity = val('--journal-integrity');
  if (keys.journal_integrity_key) o.journalIntegrityKey = Buffer.from(keys.journal_integrity_key, 'hex');
  o.journalCrypt = val('--journal-crypt');
  if (keys.journal_crypt_key) o.journalCryptKey = Buffer.from(keys.journal_crypt_key, 'hex');
  if (w.includes('--integrity-bitmap-mode')) o.mode = 'bitmap';
  if (w.includes('--integrity-no-journal')) o.mode = 'direct';
  for (const k of Object.keys(o) as Array<keyof VolumeOptions>) if (o[k] === undefined) delete o[k];
  return o;
}

/** Golden images no larger than maxBytes, loaded in memory. */
export function loadSeeds(maxBytes = 16 << 20): FuzzSeed[] {
  const out: FuzzSeed[] = [];
  for (const im of goldenManifest()) {
    if (im.files[0]!.raw_size > maxBytes) continue;
    out.push({
      name: im.name,
      meta: fs.readFileSync(goldenPath(im.files[0]!)),
      data: im.files[1] ? fs.readFileSync(goldenPath(im.files[1])) : null,
      options: goldenOptions(im),
    });
  }
  return out;
}

const int = (rand: () => number, n: number) => Math.floor(rand() * n);
const pick = <T>(rand: () => number, xs: readonly T[]): T => xs[int(rand, xs.length)]!;

/** Superblock fields: [offset, byte width, interesting values] */
const FIELDS: Array<[string, number, number, readonly bigint[]]> = [
  ['version', 8, 1, [0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n, 255n]],
  ['log2_interleave_sectors', 9, 1, [0n, 1n, 3n, 8n, 15n, 31n, 32n, 63n, 255n]],
  ['integrity_tag_size', 10, 2, [0n, 1n, 3n, 4n, 8n, 32n, 64n, 255n, 256n, 504n, 65535n]],
  ['journal_sections', 12, 4, [0n, 1n, 2n, 1000n, 0x7fffffffn, 0xffffffffn]],
  ['provided_data_sectors', 16, 8, [0n, 1n, 7n, 8n, 1n << 20n, 1n << 40n, (1n << 53n) - 8n, 1n << 53n, (1n << 64n) - 1n]],
  ['flags', 24, 4, [0n, 1n, 2n, 4n, 8n, 0x10n, 0x18n, 0x20n, 0x3fn, 0x40n, 0xffffffffn]],
  ['log2_sectors_per_block', 28, 1, [0n, 1n, 2n, 3n, 4n, 9n, 255n]],
  ['log2_blocks_per_bitmap_bit', 29, 1, [0n, 1n, 15n, 31n, 63n, 64n, 255n]],
  ['recalc_sector', 32, 8, [0n, 8n, 1n << 20n, (1n << 53n) - 1n, (1n << 64n) - 1n]],
];

function writeField(buf: Buffer, off: number, width: number, v: bigint): void {
  for (let i = 0; i < width; i++) buf[off + i] = Number((v >> BigInt(8 * i)) & 0xffn);
}

/** Mutates a copy of the seed; returns the mutated buffers and what was done. */
export function mutate(s: FuzzSeed, rand: () => number): { meta: Buffer; data: Buffer | null; mutation: string } {
  let meta = Buffer.from(s.meta);
  const data = s.data ? Buffer.from(s.data) : null;
  const kinds = ['sb-bitflip', 'sb-field', 'sb-field', 'sb-salt', 'journal-commit-id', 'journal-entry', 'journal-bytes', 'tags', 'truncate'] as const;
  const kind = pick(rand, kinds);
  const journalBytes = () => {
    const sections = meta.length >= 16 ? meta.readUInt32LE(12) : 1;
    // the journal of a golden image is a few MiB at most; stay inside the device
    return Math.max(SECTOR_SIZE, Math.min(meta.length - SB_SECTORS * SECTOR_SIZE, sections * 256 * SECTOR_SIZE));
  };
  let mutation: string = kind;
  switch (kind) {
    case 'sb-bitflip': {
      const n = 1 + int(rand, 4);
      const bits: number[] = [];
      for (let i = 0; i < n; i++) {
        const bit = int(rand, 64 * 8);
        meta[bit >> 3]! ^= 1 << (bit & 7);
        bits.push(bit);
      }
      mutation += ` bits ${bits.join(',')}`;
      break;
    }
    case 'sb-field': {
      const [name, off, width, values] = pick(rand, FIELDS);
      const v = rand() < 0.8 ? pick(rand, values) : BigInt(int(rand, 2 ** 32)) * BigInt(1 + int(rand, 2 ** 20));
      writeField(meta, off, width, v & ((1n << BigInt(8 * width)) - 1n));
      mutation += ` ${name}=${v}`;
      break;
    }
    case 'sb-salt':
      if (meta.length >= 64) meta.set(Buffer.from(Array.from({ length: 16 }, () => int(rand, 256))), 48); // seeded, not crypto.randomFill
      mutation += ' random salt';
      break;
    case 'journal-commit-id': {
      // stamp a sector's commit id with one of the four valid patterns for another position, or garbage
      const sector = int(rand, journalBytes() / SECTOR_SIZE);
      const off = SB_SECTORS * SECTOR_SIZE + sector * SECTOR_SIZE + 504;
      const ids = [0x1111111111111111n, 0x2222222222222222n, 0x3333333333333333n, 0x4444444444444444n];
      const v = rand() < 0.7 ? ids[int(rand, 4)]! ^ ((BigInt(int(rand, 8)) << 32n) ^ BigInt(int(rand, 64))) : BigInt(int(rand, 2 ** 32));
      if (off + 8 <= meta.length) meta.writeBigUInt64LE(v, off);
      mutation += ` journal sector ${sector} id ${v.toString(16)}`;
      break;
    }
    case 'journal-entry': {
      // an entry's sector number: out of range, in progress, unaligned, or huge
      const sector = int(rand, journalBytes() / SECTOR_SIZE);
      const off = SB_SECTORS * SECTOR_SIZE + sector * SECTOR_SIZE + 8 * int(rand, 60);
      const v = pick(rand, [0n, 1n, 7n, 0xfffffffe00000000n, 0xffffffff00000000n, (1n << 53n) + 1n, 1n << 32n, BigInt(int(rand, 2 ** 31))]);
      if (off + 8 <= meta.length) meta.writeBigUInt64LE(v, off);
      mutation += ` journal entry at byte ${off} sector ${v}`;
      break;
    }
    case 'journal-bytes': {
      const n = 1 + int(rand, 64);
      const base = SB_SECTORS * SECTOR_SIZE;
      for (let i = 0; i < n; i++) meta[base + int(rand, journalBytes())] = int(rand, 256);
      mutation += ` ${n} random journal bytes`;
      break;
    }
    case 'tags': {
      const n = 1 + int(rand, 16);
      for (let i = 0; i < n; i++) meta[int(rand, meta.length)] = int(rand, 256);
      mutation += ` ${n} random bytes anywhere`;
      break;
    }
    case 'truncate': {
      const len = pick(rand, [0, 1, 511, 512, 4095, 4096, int(rand, meta.length), meta.length - 512]);
      meta = meta.subarray(0, Math.max(0, len));
      mutation += ` to ${len} bytes`;
      break;
    }
  }
  // stacked mutations reach the checks that only run once earlier ones passed
  if (rand() < 0.3) {
    const more = mutate({ ...s, meta, data }, rand);
    return { meta: more.meta, data: more.data, mutation: `${mutation} + ${more.mutation}` };
  }
  return { meta, data, mutation };
}

const sha = (b: Buffer | null) => (b ? crypto.createHash('sha256').update(b).digest('hex') : '');

/** One case: a read-only open and full verify-read, and optionally a writable open (journal replay) on a copy. */
export function runCase(s: FuzzSeed, seed: number, o: { writable?: boolean; maxMs?: number } = {}): FuzzCase {
  const rand = prng(seed);
  const { meta, data, mutation } = mutate(s, rand);
  const t0 = performance.now();
  const c: FuzzCase = { seed, image: s.name, mutation, outcome: 'valid-open', ms: 0 };
  const before = sha(meta) + sha(data);
  const md = new GuardDevice(meta, s.name);
  const dd = data ? new GuardDevice(data, `${s.name}-data`) : null;
  const classify = (e: unknown) => {
    if (md.writes || dd?.writes) c.outcome = 'wrote';
    else if (e instanceof IntegrityStudioError) c.outcome = 'typed-error';
    else {
      c.outcome = 'untyped-error';
      c.error = e instanceof Error ? (e.stack ?? e.message) : String(e);
    }
    if (e instanceof Error && c.outcome !== 'untyped-error') c.error = e.message;
  };
  try {
    const vol = openVolumeOn(md, dd, s.name, { ...s.options, readOnly: true });
    try {
      const sectors = vol.geometry.provided_data_sectors;
      const buf = Buffer.alloc(Math.min(sectors, 8192) * SECTOR_SIZE);
      let bad = 0;
      for (let done = 0; done < sectors; ) {
        const n = Math.min(8192, sectors - done);
        bad += vol.target.read(done, n, buf, 0, () => {});
        done += n;
      }
      c.badBlocks = bad;
    } finally {
      vol.close();
    }
  } catch (e) {
    classify(e);
  }
  if (md.writes || dd?.writes || sha(meta) + sha(data) !== before) c.outcome = 'wrote';
  if (o.writable && (c.outcome === 'valid-open' || c.outcome === 'typed-error')) {
    // the same mutation opened for writing (journal replay on disk) on copies
    try {
      const w = openWritableOn(
        new MemoryDevice(Buffer.from(meta), false, s.name),
        data ? new MemoryDevice(Buffer.from(data), false, `${s.name}-data`) : null,
        s.name,
        {
          ...s.options,
        },
      );
      w.close();
    } catch (e) {
      if (!(e instanceof IntegrityStudioError)) {
        c.outcome = 'untyped-error';
        c.error = `writable open: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`;
      }
    }
  }
  c.ms = performance.now() - t0;
  if (o.maxMs && c.ms > o.maxMs && (c.outcome === 'valid-open' || c.outcome === 'typed-error')) c.outcome = 'too-slow';
  return c;
}

export function runFuzz(
  seeds: FuzzSeed[],
  cases: number,
  seed: number,
  o: { writableEvery?: number; maxMs?: number; onCase?: (c: FuzzCase) => void } = {},
): FuzzSummary {
  const sum: FuzzSummary = { cases: 0, typedErrors: 0, validOpens: 0, failures: [], slowestMs: 0 };
  for (let i = 0; i < cases; i++) {
    const caseSeed = (seed + i * 2654435761) >>> 0;
    const s = seeds[i % seeds.length]!;
    const c = runCase(s, caseSeed, { writable: o.writableEvery ? i % o.writableEvery === 0 : false, maxMs: o.maxMs });
    sum.cases++;
    sum.slowestMs = Math.max(sum.slowestMs, c.ms);
    if (c.outcome === 'typed-error') sum.typedErrors++;
    else if (c.outcome === 'valid-open') sum.validOpens++;
    else sum.failures.push(c);
    o.onCase?.(c);
  }
  return sum;
}

export function describeCase(c: FuzzCase): string {
  return `${c.outcome}: ${c.image} case seed ${c.seed} (${c.mutation}) ${c.ms.toFixed(0)} ms${c.error ? `\n    ${c.error.split('\n').slice(0, 4).join('\n    ')}` : ''}`;
}
