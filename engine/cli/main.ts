// The `integrity-studio` command line. Options follow integritysetup's names and meanings.
// Exit codes: 0 success, 1 error, 2 usage, 4 integrity mismatches found.
import { verifyTolerant } from '../jobs/run.js';
import { CHUNK_SECTORS } from '../integrity/target.js';
import fs from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { IntegrityStudioError, IntegrityError } from '../errors.js';
import { intOpt, JOURNAL_KEY_OPTIONS, keyFiles, str, type Values } from './args.js';
import { openVolume, type VolumeOptions, type Volume } from '../volume.js';
import { flagNames, SECTOR_SIZE, superblockFields } from '../layout/superblock.js';
import { FileDevice } from '../io/device.js';
import { geometryOf } from '../layout/geometry.js';
import { readSuperblock } from '../volume.js';
import { writeCommand, replayCommand } from './write.js';
import { cmdFormat, FORMAT_OPTIONS } from './format.js';
import { runJobCommand, stdoutClosed } from './jobs.js';
import { commandHelp, LUKS_FORMAT_DESCRIPTIONS } from './help.js';
import { version } from '../version.js';
import { readJobState, readRecalcHistory, volumeIdOf } from '../jobs/state.js';
import { cmdLuksDump } from './luks.js';
import { CRYPT_COMMANDS, cmdCrypt, cmdLuksFormat, isLuks2, FORMAT_OPTIONS as LUKS_FORMAT_OPTIONS } from './crypt.js';
import { DUMP_OPTIONS, dumpText, formatVersion, readSuperblockOf, statusFacts, statusText } from './dump.js';
import { cmdResize } from './resize.js';
import type { JobKind, JobSpec } from '../jobs/types.js';
import { CLI_ALGORITHM_REMEDY, everyBlockFailedHint } from '../hints.js';

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_USAGE = 2;
export const EXIT_MISMATCH = 4;


export const OPEN_OPTIONS: NonNullable<ParseArgsConfig['options']> = {
  'data-device': { type: 'string' },
  integrity: { type: 'string', short: 'I' },
  'integrity-key-file': { type: 'string' },
  'integrity-key-size': { type: 'string' },
  ...JOURNAL_KEY_OPTIONS,
  'integrity-bitmap-mode': { type: 'boolean', short: 'B' },
  'integrity-no-journal': { type: 'boolean', short: 'D' },
  'integrity-recalculate': { type: 'boolean' },
  // integritysetup 2.8: the superblock's inline flag decides; an inline volume's data is refused (volume.ts)
  'integrity-inline': { type: 'boolean' },
  'integrity-recalculate-reset': { type: 'boolean' },
  'allow-discards': { type: 'boolean' },
  'batch-mode': { type: 'boolean', short: 'q' },
  json: { type: 'boolean' },
  // accepted and ignored: they only tune the kernel at run time
  'journal-watermark': { type: 'string' },
  'journal-commit-time': { type: 'string' },
  'bitmap-sectors-per-bit': { type: 'string' },
  'bitmap-flush-time': { type: 'string' },
  'buffer-sectors': { type: 'string' },
  'sector-size': { type: 'string', short: 's' },
  'tag-size': { type: 'string', short: 't' },
  debug: { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
};

const JOB_OPTIONS: NonNullable<ParseArgsConfig['options']> = {
  reset: { type: 'boolean' },
  'progress-json': { type: 'boolean' },
  'integrity-legacy-recalculate': { type: 'boolean' },
  'max-rate': { type: 'string' },
};
/** each command's options besides the open options */
const EXTRA_OPTIONS: Record<string, NonNullable<ParseArgsConfig['options']>> = {
  read: {
    offset: { type: 'string' },
    length: { type: 'string' },
    output: { type: 'string', short: 'o' },
    'continue-on-error': { type: 'boolean' },
  },
  write: { offset: { type: 'string' }, input: { type: 'string', short: 'i' } },
  recalc: JOB_OPTIONS,
  scrub: JOB_OPTIONS,
};

export function volumeOptions(v: Values): VolumeOptions & { dataDevice?: string } {
  const o: VolumeOptions & { dataDevice?: string } = {};
  o.dataDevice = str(v, 'data-device');
  o.integrity = str(v, 'integrity');
  const keys = keyFiles(v);
  o.integrityKey = keys.integrityKey;
  o.journalIntegrity = str(v, 'journal-integrity');
  o.journalIntegrityKey = keys.journalIntegrityKey;
  if (o.journalIntegrity && !o.journalIntegrityKey) throw new IntegrityStudioError('--journal-integrity needs --journal-integrity-key-file');
  o.journalCrypt = str(v, 'journal-crypt');
  o.journalCryptKey = keys.journalCryptKey;
  if (o.journalCrypt && !o.journalCryptKey) throw new IntegrityStudioError('--journal-crypt needs --journal-crypt-key-file');
  if (v['integrity-bitmap-mode'] && v['integrity-no-journal']) {
    throw new IntegrityStudioError('--integrity-bitmap-mode and --integrity-no-journal exclude each other');
  }
  o.mode = v['integrity-bitmap-mode'] ? 'bitmap' : v['integrity-no-journal'] ? 'direct' : 'journal';
  o.allowDiscards = !!v['allow-discards'];
  o.bitmapSectorsPerBit = intOpt(v, 'bitmap-sectors-per-bit');
  o.bitmapFlushTime = intOpt(v, 'bitmap-flush-time');
  return o;
}

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  stdout: NodeJS.WritableStream & { fd?: number };
}

const defaultIo: Io = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  stdout: process.stdout,
};

function parse(args: string[], extra: NonNullable<ParseArgsConfig['options']> = {}) {
  return parseArgs({ args, options: { ...OPEN_OPTIONS, ...extra }, allowPositionals: true, strict: true });
}

function needDevice(pos: string[], cmd: string): string {
  if (pos.length < 1) throw new UsageError(`${cmd}: missing DEVICE`);
  if (pos.length > 1) throw new UsageError(`${cmd}: unexpected argument "${pos[1]}"`);
  return pos[0]!;
}

export class UsageError extends Error {}

function superblockJson(vol: Volume) {
  const sb = vol.sb;
  const g = vol.geometry;
  return {
    ...superblockFields(sb),
    sector_size: g.block_size,
    geometry: {
      journal_entry_size: g.journal_entry_size,
      journal_entries_per_sector: g.journal_entries_per_sector,
      journal_section_entries: g.journal_section_entries,
      journal_section_sectors: g.journal_section_sectors,
      initial_sectors: g.initial_sectors,
      sectors_per_block: g.sectors_per_block,
      metadata_run: g.meta_dev ? null : g.metadata_run,
      interleave_sectors: g.meta_dev ? null : 2 ** g.log2_interleave_sectors,
      separate_data_device: g.meta_dev,
    },
  };
}

async function cmdDump(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, DUMP_OPTIONS);
  const device = needDevice(positionals, 'dump');
  const ver = formatVersion(values);

  // Like integritysetup dump, the text needs only the superblock: a metadata device dumps without its data
  // device, and nothing is checked against the device sizes. --json also gives the geometry, which needs them.
  if (!values.json) {
    io.out(dumpText(device, readSuperblockOf(device), ver));
    return EXIT_OK;
  }
  // a superblock with log2_interleave_sectors 0 belongs to a separate metadata device (the kernel writes 0 there)
  const sb = readSuperblockOf(device);
  const geometry = geometryOf(sb, !!str(values, 'data-device') || sb.log2_interleave_sectors === 0);
  io.out(JSON.stringify(superblockJson({ sb, geometry } as Volume), null, 2) + '\n');
  return EXIT_OK;
}

/** dump needs no keys: it reads only the superblock */
function volumeOptionsLenient(v: Values): VolumeOptions & { dataDevice?: string; superblockOnly: boolean } {
  return { dataDevice: str(v, 'data-device'), superblockOnly: true };
}

function byteOpt(v: Values, name: string): number | undefined {
  return intOpt(v, name);
}

async function cmdRead(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, EXTRA_OPTIONS.read);
  const device = needDevice(positionals, 'read');
  const vol = openVolume(device, { ...volumeOptions(values), readOnly: true });
  try {
    const total = vol.geometry.provided_data_sectors * SECTOR_SIZE;
    const bs = vol.geometry.block_size;
    const offset = byteOpt(values, 'offset') ?? 0;
    const length = byteOpt(values, 'length') ?? total - offset;
    if (offset % bs || length % bs) throw new IntegrityStudioError(`--offset and --length must be multiples of the ${bs}-byte sector size`);
    if (offset + length > total) throw new IntegrityStudioError(`range ${offset}+${length} is past the end of the volume (${total} bytes)`);
    const outPath = str(values, 'output');
    const fd = outPath ? fs.openSync(outPath, 'w') : 1;
    const keepGoing = !!values['continue-on-error'];
    const bad: number[] = [];
    const chunk = 1 << 22;
    const buf = Buffer.alloc(chunk);
    try {
      for (let pos = offset; pos < offset + length; pos += chunk) {
        const n = Math.min(chunk, offset + length - pos);
        vol.target.read(pos / SECTOR_SIZE, n / SECTOR_SIZE, buf, 0, keepGoing ? (s) => bad.push(s) : undefined);
        writeAll(fd, buf.subarray(0, n));
      }
    } finally {
      if (outPath) fs.closeSync(fd);
    }
    if (bad.length) {
      io.err(`integrity-studio: ${bad.length} bad block(s) read at sector(s) ${bad.join(', ')}; their data is unverified\n`);
      return EXIT_MISMATCH;
    }
  } finally {
    vol.close();
  }
  return EXIT_OK;
}

function writeAll(fd: number, b: Buffer): void {
  let done = 0;
  while (done < b.length) {
    try {
      done += fs.writeSync(fd, b, done, b.length - done);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      throw e;
    }
  }
}

async function cmdVerify(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args);
  const device = needDevice(positionals, 'verify');
  const vol = openVolume(device, { ...volumeOptions(values), readOnly: true });
  try {
    const bad: number[] = [];
    const readErrors: number[] = [];
    const pds = vol.geometry.provided_data_sectors;
    // run by run, so a block whose read fails (EIO) is a read error and the rest are still verified
    for (let s = 0; s < pds; ) {
      const n = vol.target.contiguousRun(s, CHUNK_SECTORS);
      verifyTolerant(vol, s, n, (b) => bad.push(b), (b) => readErrors.push(b));
      s += n;
    }
    const st = vol.target.stats;
    const uncheckedWhy = st.unchecked;
    const result = {
      device,
      provided_data_sectors: pds,
      checked_sectors: st.checked_blocks * vol.geometry.sectors_per_block,
      checked_blocks: st.checked_blocks,
      unchecked_blocks: st.unchecked_blocks,
      unchecked: uncheckedWhy,
      discarded_blocks: st.discarded_blocks,
      mismatches: st.mismatched_blocks,
      bad_sectors: bad,
      // blocks whose read failed (EIO): not mismatches, and not checked
      read_errors: readErrors.length,
      read_error_sectors: readErrors,
      hint: wrongKeyHint(vol),
    };
    if (values.json) io.out(JSON.stringify(result) + '\n');
    else {
      io.out(`${device}: checked ${result.checked_blocks} blocks (${result.checked_sectors} sectors), ${result.mismatches} mismatch${result.mismatches === 1 ? '' : 'es'}\n`);
      if (result.unchecked_blocks) {
        const why = [uncheckedWhy.recalculating ? `being recalculated: ${uncheckedWhy.recalculating}` : '', uncheckedWhy['dirty-bitmap'] ? `in dirty bitmap regions, recalculated on the next writable open: ${uncheckedWhy['dirty-bitmap']}` : ''].filter(Boolean).join('; ');
        io.out(`${result.unchecked_blocks} blocks not checked (${why})\n`);
      }
      if (result.discarded_blocks) io.out(`${result.discarded_blocks} discarded blocks\n`);
      if (bad.length) io.out(`bad sectors: ${formatRanges(bad, vol.geometry.sectors_per_block)}\n`);
      if (readErrors.length) io.out(`${readErrors.length} blocks could not be read (read errors, EIO; not checked): sectors ${formatRanges(readErrors, vol.geometry.sectors_per_block)}\n`);
      if (result.hint) io.err(`integrity-studio: ${result.hint}\n`);
    }
    return bad.length || readErrors.length ? EXIT_MISMATCH : EXIT_OK;
  } finally {
    vol.close();
  }
}

/** When every checked block mismatches, the algorithm or key is the likely cause, not the data. */
export function wrongKeyHint(vol: Volume): string | undefined {
  const st = vol.target.stats;
  if (st.checked_blocks > 0 && st.mismatched_blocks === st.checked_blocks) {
    return everyBlockFailedHint(vol.hasher.algorithm, vol.hasher.keyed, CLI_ALGORITHM_REMEDY);
  }
  return undefined;
}

export function formatRanges(sectors: number[], spb: number): string {
  const out: string[] = [];
  let i = 0;
  while (i < sectors.length) {
    let j = i;
    while (j + 1 < sectors.length && sectors[j + 1] === sectors[j]! + spb) j++;
    const end = sectors[j]! + spb - 1;
    out.push(sectors[i] === end ? `${sectors[i]}` : `${sectors[i]}-${end}`);
    i = j + 1;
  }
  return out.join(', ');
}

/** The scrub state file of this volume (paused or done), if any: ours, kept beside the image. */
function scrubStatus(vol: Volume) {
  const st = readJobState(vol, 'scrub');
  if (!st) return null;
  const u = st.unchecked ?? { recalculating: 0, 'dirty-bitmap': 0 };
  return {
    state: st.state, position_sector: st.position_sector, total_sectors: st.total_sectors, mismatches: st.mismatches, bad_ranges: st.bad_ranges,
    checked_blocks: st.checked_blocks, unchecked_blocks: u.recalculating + u['dirty-bitmap'], unchecked: u,
    started_at: st.started_at ?? null, finished_at: st.finished_at ?? null, duration_ms: st.duration_ms ?? null,
    runs: st.runs ?? [], updated: st.updated ?? null,
  };
}

async function cmdStatus(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, DUMP_OPTIONS);
  const device = needDevice(positionals, 'status');
  const vol = openVolume(device, { ...volumeOptions(values), readOnly: true });
  try {
    if (values['format-version'] !== undefined || process.env.INTEGRITY_STUDIO_FORMAT_VERSION) {
      io.out(statusText(statusFacts(vol, values), formatVersion(values)));
      return EXIT_OK;
    }
    const sb = vol.sb;
    const recalculating = (sb.flags & 0x2) !== 0;
    const status = {
      device,
      data_device: vol.dataPath,
      integrity: vol.hasher.algorithm,
      tag_size: sb.integrity_tag_size,
      sector_size: vol.geometry.block_size,
      provided_data_sectors: sb.provided_data_sectors,
      size_bytes: sb.provided_data_sectors * SECTOR_SIZE,
      interleave_sectors: vol.geometry.meta_dev ? 1 : 2 ** sb.log2_interleave_sectors,
      journal_sections: sb.journal_sections,
      recalculating,
      recalc_sector: sb.recalc_sector,
      flags: flagNames(sb.flags),
      scrub: scrubStatus(vol),
      recalc_runs: readRecalcHistory(vol.path, volumeIdOf(sb))?.runs ?? [],
    };
    if (values.json) io.out(JSON.stringify(status) + '\n');
    else {
      io.out(`${device} is a dm-integrity volume.\n`);
      io.out(`  integrity: ${status.integrity}\n  tag size: ${status.tag_size}\n  sector size: ${status.sector_size} bytes\n`);
      io.out(`  size: ${status.provided_data_sectors} sectors\n  interleave sectors: ${status.interleave_sectors}\n  journal sections: ${status.journal_sections}\n`);
      io.out(`  recalculating: ${recalculating ? `yes, at sector ${sb.recalc_sector} of ${sb.provided_data_sectors}` : 'no'}\n`);
      const sc = status.scrub;
      if (sc) {
        const notChecked = sc.unchecked_blocks ? `, ${sc.unchecked_blocks} block(s) not checked (being recalculated: ${sc.unchecked.recalculating}, dirty bitmap: ${sc.unchecked['dirty-bitmap']})` : '';
        io.out(`  scrub: ${sc.state} at sector ${sc.position_sector} of ${sc.total_sectors}, ${sc.checked_blocks} blocks checked, ${sc.mismatches} bad block(s)${notChecked}${sc.finished_at ? `, finished ${sc.finished_at}` : ''}\n`);
      }
    }
  } finally {
    vol.close();
  }
  return EXIT_OK;
}

async function cmdWrite(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, EXTRA_OPTIONS.write);
  const device = needDevice(positionals, 'write');
  const offset = intOpt(values, 'offset');
  if (offset === undefined) throw new UsageError('write: --offset BYTES is required');
  return writeCommand(device, volumeOptions(values), offset, str(values, 'input'), io);
}

async function cmdReplay(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args);
  const device = needDevice(positionals, 'replay');
  return replayCommand(device, volumeOptions(values), io);
}

/** --max-rate MiB/s (a positive number, fractions allowed) as bytes per second */
function maxRate(v: Values): number | undefined {
  const s = str(v, 'max-rate');
  if (s === undefined) return undefined;
  const n = /^\d+(\.\d+)?$/.test(s) ? Number(s) : NaN;
  if (!(n > 0)) throw new UsageError(`--max-rate takes a speed in MiB/s greater than 0 (e.g. 200 or 0.5), not "${s}"`);
  return Math.round(n * 1048576);
}

/** recalc / scrub: the job runs in a worker thread; keys travel to it as bytes, never as paths or text. */
async function cmdJob(kind: JobKind, args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, EXTRA_OPTIONS[kind]!);
  const device = needDevice(positionals, kind);
  const o = volumeOptions(values);
  const spec: JobSpec = {
    kind,
    device,
    dataDevice: o.dataDevice,
    integrity: o.integrity,
    integrityKey: o.integrityKey,
    journalIntegrity: o.journalIntegrity,
    journalIntegrityKey: o.journalIntegrityKey,
    journalCrypt: o.journalCrypt,
    journalCryptKey: o.journalCryptKey,
    mode: o.mode,
    reset: !!values.reset,
    legacyRecalculate: !!values['integrity-legacy-recalculate'],
    maxBytesPerSecond: maxRate(values),
  };
  return runJobCommand(
    spec,
    { progressJson: !!values['progress-json'], json: !!values.json },
    { out: io.out, err: io.err, tty: !!process.stderr.isTTY },
    `integrity-studio ${kind} ${device}`,
  );
}

/** `verify-inline LOWER`: an inline-mode volume (v6) read through the dm-integrity image under it (engine/integrity/inline.ts) */
async function cmdVerifyInline(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args);
  const device = needDevice(positionals, 'verify-inline');
  const o = volumeOptions(values);
  const { verifyInlineStack } = await import('../integrity/inline.js');
  const r = verifyInlineStack(device, { integrity: o.integrity, integrityKey: o.integrityKey });
  const spb = r.block_size / 512;
  if (values.json) io.out(JSON.stringify({ device, inline_version: r.superblock.version, provided_data_sectors: r.provided_data_sectors, checked_blocks: r.checked_blocks, mismatches: r.bad_blocks, bad_ranges: r.bad_ranges }) + '\n');
  else {
    io.out(`${device}: inline volume (superblock version ${r.superblock.version}, ${r.provided_data_sectors} sectors) on it: checked ${r.checked_blocks} blocks, ${r.bad_blocks} mismatch${r.bad_blocks === 1 ? '' : 'es'}\n`);
    if (r.bad_ranges.length) io.out(`bad sectors: ${r.bad_ranges.map(([a, b]) => (b - a === spb ? `${a}` : `${a}-${b - 1}`)).join(', ')}\n`);
  }
  return r.bad_blocks ? EXIT_MISMATCH : EXIT_OK;
}

export type Command = (args: string[], io: Io) => Promise<number>;
export const COMMANDS: Record<string, Command> = {
  dump: cmdDump,
  read: cmdRead,
  verify: cmdVerify,
  'verify-inline': cmdVerifyInline,
  status: cmdStatus,
  write: cmdWrite,
  replay: cmdReplay,
  format: (args, io) => cmdFormat(args, io),
  recalc: (args, io) => cmdJob('recalc', args, io),
  scrub: (args, io) => cmdJob('scrub', args, io),
  'luks-dump': (args, io) => cmdLuksDump(args, io),
  'luks-format': (args, io) => cmdLuksFormat(args, io),
  resize: (args, io) => cmdResize(args, io),
  serve: async (args, io) => (await import('../../electron/host/serve.js')).cmdServe(args, io),
};

const USAGE = `usage: integrity-studio COMMAND DEVICE [options]
commands:
  dump    DEVICE [--data-device F] [--json] [--format-version 2.6|2.8]   the superblock, as integritysetup dump
  resize  DEVICE [open options] [--size SECTORS | --device-size BYTES] [--wipe]   grow or shrink, as integritysetup resize
  read    DEVICE [open options] [--offset B] [--length B] [--output F] [--continue-on-error]
  verify  DEVICE [open options] [--json]               check every block; exit 4 when mismatches are found
  verify-inline LOWER [--integrity ALG --integrity-key-file F] [--json]   an inline-mode (v6) volume, through the
          dm-integrity image without internal hash under it (its per-sector metadata holds the tags)
  status  DEVICE [open options] [--json]
  write   DEVICE [open options] --offset B [--input F]  write (default stdin); exit 0 only once flushed
  replay  DEVICE [open options]                        replay the journal on disk, as the kernel does on open
  recalc  DEVICE [open options] [--reset] [--max-rate MIB/S] [--progress-json]   recalculate tags from recalc_sector (pause: Ctrl-C)
  scrub   DEVICE [open options] [--max-rate MIB/S] [--progress-json] [--json]    verify every block, resumable; exit 4 on mismatches
  format  DEVICE [format options] [--force] [--batch-mode] [--size BYTES] [--json]   as integritysetup format
  luks-dump DEVICE [--json]                        the LUKS2 header (like cryptsetup luksDump; no keys)
  luks-format DEVICE --integrity ALG [cryptsetup luksFormat options]   a LUKS2 authenticated volume
  read|verify|scrub|write|replay|status on a LUKS2 device: [--key-file F] (else a passphrase prompt), as above
  serve   [--port N] [--new-token] [--data-dir D] [IMAGE ...]   the dashboard in a browser (prints its Dashboard URL)
  COMMAND --help    the options of COMMAND          --version    the version
open options (as integritysetup): --data-device F --integrity ALG --integrity-key-file F --integrity-key-size N
  --journal-integrity ALG --journal-integrity-key-file F --journal-crypt ALG --journal-crypt-key-file F
  --integrity-bitmap-mode --integrity-no-journal --allow-discards
`;

const OPEN_SUMMARY = 'open options are integritysetup open\'s: the algorithm and keys are not stored on disk; give the ones used at format';
const HELP: Record<string, { synopsis: string; summary: string; options: () => NonNullable<ParseArgsConfig['options']> }> = {
  'luks-dump': { synopsis: 'DEVICE [--json]', summary: 'show the LUKS2 header as cryptsetup luksDump does; never prints keys', options: () => ({ json: { type: 'boolean' } }) },
  'luks-format': { synopsis: 'DEVICE --integrity ALG [options]', summary: 'create a LUKS2 authenticated volume (dm-crypt over dm-integrity) with cryptsetup luksFormat\'s options', options: () => LUKS_FORMAT_OPTIONS as NonNullable<ParseArgsConfig['options']> },
  dump: { synopsis: 'DEVICE [--data-device F] [--json]', summary: 'show the superblock (like integritysetup dump); needs no keys', options: () => ({ 'data-device': OPEN_OPTIONS['data-device']!, json: OPEN_OPTIONS.json! }) },
  read: { synopsis: 'DEVICE [open options] [--offset B] [--length B] [--output F] [--continue-on-error]', summary: `read the provided data, verifying every block (exit 4 on a bad block)\n${OPEN_SUMMARY}`, options: () => ({ ...OPEN_OPTIONS, ...EXTRA_OPTIONS.read }) },
  verify: { synopsis: 'DEVICE [open options] [--json]', summary: `check every block; exit 4 when mismatches are found\n${OPEN_SUMMARY}`, options: () => OPEN_OPTIONS },
  status: { synopsis: 'DEVICE [open options] [--json]', summary: 'the volume, its recalculation and its last scrub', options: () => OPEN_OPTIONS },
  'verify-inline': { synopsis: 'LOWER [--integrity ALG] [--integrity-key-file F] [--json]', summary: 'check every block of an inline-mode volume (superblock v6) stacked on LOWER, a dm-integrity image without internal hash whose per-sector metadata holds its tags; exit 4 on mismatches', options: () => OPEN_OPTIONS },
  write: { synopsis: 'DEVICE [open options] --offset B [--input F]', summary: 'write whole blocks (default: from standard input); exit 0 only once flushed', options: () => ({ ...OPEN_OPTIONS, ...EXTRA_OPTIONS.write }) },
  replay: { synopsis: 'DEVICE [open options]', summary: 'replay the journal on disk, as the kernel does on activation', options: () => OPEN_OPTIONS },
  recalc: { synopsis: 'DEVICE [open options] [--reset] [--max-rate MIB/S] [--progress-json]', summary: 'recalculate tags from recalc_sector; Ctrl-C pauses (the position is saved in the superblock)', options: () => ({ ...OPEN_OPTIONS, ...JOB_OPTIONS }) },
  scrub: { synopsis: 'DEVICE [open options] [--reset] [--max-rate MIB/S] [--progress-json] [--json]', summary: 'verify every block, resumable (Ctrl-C pauses; the position is saved beside the image); exit 4 on mismatches', options: () => ({ ...OPEN_OPTIONS, ...JOB_OPTIONS }) },
  format: { synopsis: 'DEVICE [options]', summary: 'format as integritysetup format does (asks first unless --batch-mode; refuses a device holding data unless --force)', options: () => FORMAT_OPTIONS },
};

export { version } from '../version.js';

export async function main(argv: string[], io: Io = defaultIo): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    const sub = cmd === 'help' ? rest[0] : undefined;
    if (sub && HELP[sub]) {
      io.out(commandHelp(sub, HELP[sub].synopsis, HELP[sub].summary, HELP[sub].options()));
      return EXIT_OK;
    }
    io.out(USAGE);
    return cmd ? EXIT_OK : EXIT_USAGE;
  }
  if (cmd === '--version' || cmd === '-V' || cmd === 'version') {
    io.out(`integrity-studio ${version()}\n`);
    return EXIT_OK;
  }
  const fn = COMMANDS[cmd];
  if (!fn) {
    io.err(`integrity-studio: unknown command "${cmd}"\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (HELP[cmd] && (rest.includes('--help') || (cmd !== 'luks-format' && rest.includes('-h')))) {
    io.out(commandHelp(cmd, HELP[cmd].synopsis, HELP[cmd].summary, HELP[cmd].options(), cmd === 'luks-format' ? LUKS_FORMAT_DESCRIPTIONS : {}));
    return EXIT_OK;
  }
  try {
    // a LUKS2 device: dm-crypt over dm-integrity (engine/cli/crypt.ts)
    if (CRYPT_COMMANDS.includes(cmd) && rest.some((a) => !a.startsWith('-') && isLuks2(a))) return await cmdCrypt(cmd, rest, io);
    return await fn(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`integrity-studio: ${e.message}\n`);
      return EXIT_USAGE;
    }
    if (e instanceof IntegrityError) {
      io.err(`integrity-studio: ${e.message}\n`);
      return EXIT_MISMATCH;
    }
    if (e instanceof IntegrityStudioError) {
      io.err(`integrity-studio: ${e.message}\n`);
      // the crypt commands (engine/cli/crypt.ts) mark their usage errors with the code EUSAGE
      return e.code === 'EUSAGE' ? EXIT_USAGE : EXIT_ERROR;
    }
    const code = (e as { code?: string }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      io.err(`integrity-studio: ${(e as Error).message}\n`);
      return EXIT_USAGE;
    }
    if (code === 'EPIPE') return EXIT_OK;
    io.err(`integrity-studio: internal error: ${(e as Error).message}\n`);
    if (process.env.INTEGRITY_STUDIO_DEBUG) io.err(`${(e as Error).stack}\n`);
    return EXIT_ERROR;
  }
}

// Run when executed directly (bin/integrity-studio.js imports this module).
const isMain = process.argv[1] && /integrity-studio(\.js)?$|cli\.js$/.test(process.argv[1]);
if (isMain) {
  // a closed pipe (`… | head -1`) ends quietly: a running job pauses first (its position is saved), then exit 0
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    if (!stdoutClosed()) process.exit(EXIT_OK);
  });
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
void FileDevice;
void readSuperblock;
