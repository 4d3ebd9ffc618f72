// The `integrity-studio` command line. Options follow integritysetup's names and meanings.
// Exit codes: 0 success, 1 error, 2 usage, 4 integrity mismatches found.
import { verifyTolerant } from '../engine/jobs/run.js';
import { CHUNK_SECTORS } from '../engine/integrity/target.js';
import fs from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { IntegrityStudioError, IntegrityError } from '../engine/errors.js';
import { intOpt, OPEN_OPTIONS, str, volumeOptions, writeAll, type Io, type Values } from './args.js';
export { OPEN_OPTIONS, volumeOptions, type Io } from './args.js';
import { openVolume, type Volume } from '../engine/volume.js';
import { flagNames, SECTOR_SIZE, superblockFields } from '../engine/layout/superblock.js';
import { geometryOf } from '../engine/layout/geometry.js';
import { writeCommand, replayCommand } from './write.js';
import { runFormat, FORMAT_OPTIONS } from './format.js';
import { runJobCommand, stdoutClosed } from './jobs.js';
import { commandHelp, LUKS_FORMAT_DESCRIPTIONS, optionLines } from './help.js';
import { version } from '../engine/version.js';
import { damagePath, jobStatePath, readJobState, readRecalcHistory, volumeIdOf } from '../engine/jobs/state.js';
import { allOf } from '../engine/jobs/damage.js';
import { cmdLuksDump, LUKS_DUMP_OPTIONS } from './luks.js';
import { cmdCrypt, cmdLuksFormat, CRYPT_OPTIONS, type CryptValues, isLuks2, FORMAT_OPTIONS as LUKS_FORMAT_OPTIONS } from './crypt.js';
import { mappingFields, rangesOf, someRanges, uncheckedList, type CheckReport } from './report.js';
import { mappingText } from './fsmap.js';
import { mapBadSectors, volumeSource } from '../engine/fsmap/index.js';
import { DUMP_OPTIONS, dumpText, formatVersion, readSuperblockOf, statusFacts, statusText } from './dump.js';
import { cmdResize, RESIZE_OPTIONS } from './resize.js';
import { cmdErrors, ERRORS_OPTIONS } from './errors.js';
import { cmdLive, LIVE_DESCRIPTIONS, LIVE_OPTIONS } from './live.js';
import type { JobKind, JobSpec } from '../engine/jobs/types.js';
import { CLI_ALGORITHM_REMEDY, everyBlockFailedHint } from '../engine/hints.js';

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_USAGE = 2;
export const EXIT_MISMATCH = 4;

/** `serve`'s options (the server itself is host/serve.ts) */
const SERVE_OPTIONS: NonNullable<ParseArgsConfig['options']> = {
  port: { type: 'string' },
  'new-token': { type: 'boolean' },
  'data-dir': { type: 'string' },
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

/** verify and scrub: what the bad blocks hold in the file system on the volume (engine/fsmap) */
export const MAP_OPTIONS: NonNullable<ParseArgsConfig['options']> = { 'map-files': { type: 'boolean' } };
const MAP_DESCRIPTION = {
  'map-files':
    'also say what each bad block holds in the ext4 or XFS file system on the volume: the file and byte range, the structure, or free space (--json: "mapping")',
};

const defaultIo: Io = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  stdout: process.stdout,
};

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

async function cmdDump({ values, positionals }: Parsed, io: Io): Promise<number> {
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

function byteOpt(v: Values, name: string): number | undefined {
  return intOpt(v, name);
}

async function cmdRead({ values, positionals }: Parsed, io: Io): Promise<number> {
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

async function cmdVerify({ values, positionals }: Parsed, io: Io): Promise<number> {
  const device = needDevice(positionals, 'verify');
  const vol = openVolume(device, { ...volumeOptions(values), readOnly: true });
  try {
    const bad: number[] = [];
    const readErrors: number[] = [];
    const pds = vol.geometry.provided_data_sectors;
    // run by run, so a block whose read fails (EIO) is a read error and the rest are still verified
    for (let s = 0; s < pds; ) {
      const n = vol.target.contiguousRun(s, CHUNK_SECTORS);
      verifyTolerant(
        vol,
        s,
        n,
        (b) => bad.push(b),
        (b) => readErrors.push(b),
      );
      s += n;
    }
    const st = vol.target.stats;
    const uncheckedWhy = st.unchecked;
    const spb = vol.geometry.sectors_per_block;
    const hint = wrongKeyHint(vol);
    const result: CheckReport = {
      device,
      type: 'dm-integrity',
      command: 'verify',
      state: 'done',
      block_size: vol.geometry.block_size,
      provided_data_sectors: pds,
      position_sector: pds,
      checked_blocks: st.checked_blocks,
      checked_sectors: st.checked_blocks * spb,
      unchecked_blocks: st.unchecked_blocks + readErrors.length,
      unchecked: uncheckedList({ ...uncheckedWhy, 'read-error': readErrors.length }),
      mismatches: st.mismatched_blocks,
      bad_sectors: bad,
      bad_ranges: rangesOf(bad, spb),
      // blocks whose read failed (EIO): not mismatches, and not checked
      read_errors: readErrors.length,
      read_error_ranges: rangesOf(readErrors, spb),
      discarded_blocks: st.discarded_blocks,
      ...(hint ? { hint } : {}),
    };
    // read without verification, so the very blocks that failed can be mapped
    if (values['map-files'])
      Object.assign(
        result,
        mappingFields(() => mapBadSectors(volumeSource(vol), [...result.bad_ranges, ...result.read_error_ranges])),
      );
    if (values.json) io.out(JSON.stringify(result) + '\n');
    else {
      io.out(
        `${device}: checked ${result.checked_blocks} blocks (${result.checked_sectors} sectors), ${result.mismatches} mismatch${result.mismatches === 1 ? '' : 'es'}\n`,
      );
      if (st.unchecked_blocks) {
        const why = [
          uncheckedWhy.recalculating ? `being recalculated: ${uncheckedWhy.recalculating}` : '',
          uncheckedWhy['dirty-bitmap'] ? `in dirty bitmap regions, recalculated on the next writable open: ${uncheckedWhy['dirty-bitmap']}` : '',
        ]
          .filter(Boolean)
          .join('; ');
        io.out(`${st.unchecked_blocks} blocks not checked (${why})\n`);
      }
      if (result.discarded_blocks) io.out(`${result.discarded_blocks} discarded blocks\n`);
      const spb = vol.geometry.sectors_per_block;
      if (bad.length) io.out(`bad sectors: ${someRanges(rangesOf(bad, spb), '--json lists every one')}\n`);
      if (readErrors.length)
        io.out(
          `${readErrors.length} blocks could not be read (read errors, EIO; not checked): sectors ${someRanges(rangesOf(readErrors, spb), '--json lists every one')}\n`,
        );
      if (result.mapping && (bad.length || readErrors.length)) io.out(mappingText(result.mapping));
      if (result.mapping_error) io.err(`integrity-studio: could not map the bad blocks: ${result.mapping_error}\n`);
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

/** The scrub state file of this volume (paused or done), if any: ours, kept beside the image. */
function scrubStatus(vol: Volume) {
  const st = readJobState(vol, 'scrub');
  if (!st) return null;
  const u = st.unchecked ?? { recalculating: 0, 'dirty-bitmap': 0 };
  return {
    state: st.state,
    position_sector: st.position_sector,
    total_sectors: st.total_sectors,
    mismatches: st.mismatches,
    bad_ranges: st.damage ? allOf({ file: damagePath(jobStatePath(vol.path, 'scrub')), state: st.damage }, 'bad') : (st.bad_ranges ?? []),
    checked_blocks: st.checked_blocks,
    unchecked_blocks: u.recalculating + u['dirty-bitmap'],
    unchecked: u,
    started_at: st.started_at ?? null,
    finished_at: st.finished_at ?? null,
    duration_ms: st.duration_ms ?? null,
    runs: st.runs ?? [],
    updated: st.updated ?? null,
  };
}

async function cmdStatus({ values, positionals }: Parsed, io: Io): Promise<number> {
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
      io.out(
        `  size: ${status.provided_data_sectors} sectors\n  interleave sectors: ${status.interleave_sectors}\n  journal sections: ${status.journal_sections}\n`,
      );
      io.out(`  recalculating: ${recalculating ? `yes, at sector ${sb.recalc_sector} of ${sb.provided_data_sectors}` : 'no'}\n`);
      const sc = status.scrub;
      if (sc) {
        const notChecked = sc.unchecked_blocks
          ? `, ${sc.unchecked_blocks} block(s) not checked (being recalculated: ${sc.unchecked.recalculating}, dirty bitmap: ${sc.unchecked['dirty-bitmap']})`
          : '';
        io.out(
          `  scrub: ${sc.state} at sector ${sc.position_sector} of ${sc.total_sectors}, ${sc.checked_blocks} blocks checked, ${sc.mismatches} bad block(s)${notChecked}${sc.finished_at ? `, finished ${sc.finished_at}` : ''}\n`,
        );
      }
    }
  } finally {
    vol.close();
  }
  return EXIT_OK;
}

async function cmdWrite({ values, positionals }: Parsed, io: Io): Promise<number> {
  const device = needDevice(positionals, 'write');
  const offset = intOpt(values, 'offset');
  if (offset === undefined) throw new UsageError('write: --offset BYTES is required');
  return writeCommand(device, volumeOptions(values), offset, str(values, 'input'), io);
}

async function cmdReplay({ values, positionals }: Parsed, io: Io): Promise<number> {
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
async function cmdJob(kind: JobKind, { values, positionals }: Parsed, io: Io): Promise<number> {
  const device = needDevice(positionals, kind);
  const o = volumeOptions(values);
  const spec: JobSpec = {
    kind,
    device,
    volume: o,
    reset: !!values.reset,
    legacyRecalculate: !!values['integrity-legacy-recalculate'],
    maxBytesPerSecond: maxRate(values),
  };
  return runJobCommand(
    spec,
    { progressJson: !!values['progress-json'], json: !!values.json, mapFiles: !!values['map-files'] },
    { out: io.out, err: io.err, tty: !!process.stderr.isTTY },
  );
}

/** `verify-inline LOWER`: an inline-mode volume (v6) read through the dm-integrity image under it (engine/integrity/inline.ts) */
async function cmdVerifyInline({ values, positionals }: Parsed, io: Io): Promise<number> {
  const device = needDevice(positionals, 'verify-inline');
  const o = volumeOptions(values);
  const { verifyInlineStack } = await import('../engine/integrity/inline.js');
  const r = verifyInlineStack(device, { integrity: o.integrity, integrityKey: o.integrityKey });
  const spb = r.block_size / 512;
  if (values.json)
    io.out(
      JSON.stringify({
        device,
        inline_version: r.superblock.version,
        provided_data_sectors: r.provided_data_sectors,
        checked_blocks: r.checked_blocks,
        mismatches: r.bad_blocks,
        bad_ranges: r.bad_ranges,
      }) + '\n',
    );
  else {
    io.out(
      `${device}: inline volume (superblock version ${r.superblock.version}, ${r.provided_data_sectors} sectors) on it: checked ${r.checked_blocks} blocks, ${r.bad_blocks} mismatch${r.bad_blocks === 1 ? '' : 'es'}\n`,
    );
    if (r.bad_ranges.length) io.out(`bad sectors: ${r.bad_ranges.map(([a, b]) => (b - a === spb ? `${a}` : `${a}-${b - 1}`)).join(', ')}\n`);
  }
  return r.bad_blocks ? EXIT_MISMATCH : EXIT_OK;
}

/** What a handler gets: the arguments parsed with exactly the options its table entry lists. */
export interface Parsed {
  values: Values;
  positionals: string[];
}
type Options = NonNullable<ParseArgsConfig['options']>;
type Handler = (p: Parsed, io: Io) => Promise<number>;

/**
 * One entry per command: its synopsis, summary, options and handler. The usage, each command's --help and its
 * parsing all come from here, so they cannot drift apart. `luks`: on a LUKS2 device (recognised by a header copy)
 * the command takes these options instead and runs through dm-crypt (cli/crypt.ts).
 */
export interface CliCommand {
  synopsis: string;
  summary: string;
  options: Options;
  descriptions?: Record<string, string>;
  run: Handler;
  luks?: { synopsis: string; options: Options; run: Handler };
}

const OPEN_SUMMARY = "open options are integritysetup open's: the algorithm and keys are not stored on disk; give the ones used at format";
const crypt = (cmd: string, extra: Options = {}): CliCommand['luks'] => ({
  synopsis: 'DEVICE [--key-file F | passphrase prompt] [options]',
  options: { ...(CRYPT_OPTIONS as unknown as Options), ...extra },
  run: ({ values, positionals }, io) => cmdCrypt(cmd, values as CryptValues, positionals, io),
});

export const COMMANDS: Record<string, CliCommand> = {
  dump: {
    synopsis: 'DEVICE [--data-device F] [--json] [--format-version 2.6|2.8]',
    summary: 'show the superblock (like integritysetup dump); needs no keys',
    options: { ...OPEN_OPTIONS, ...DUMP_OPTIONS },
    run: cmdDump,
  },
  resize: {
    synopsis: 'DEVICE [open options] [--size SECTORS | --device-size BYTES] [--wipe] [--json]',
    summary: `grow or shrink, as integritysetup resize\n${OPEN_SUMMARY}`,
    options: RESIZE_OPTIONS,
    run: (p, io) => cmdResize(p, io),
  },
  read: {
    synopsis: 'DEVICE [open options] [--offset B] [--length B] [--output F] [--continue-on-error]',
    summary: `read the provided data, verifying every block (exit 4 on a bad block)\n${OPEN_SUMMARY}`,
    options: { ...OPEN_OPTIONS, ...EXTRA_OPTIONS.read },
    run: cmdRead,
    luks: crypt('read'),
  },
  verify: {
    synopsis: 'DEVICE [open options] [--json] [--map-files]',
    summary: `check every block; exit 4 when mismatches are found\n${OPEN_SUMMARY}`,
    options: { ...OPEN_OPTIONS, ...MAP_OPTIONS },
    descriptions: MAP_DESCRIPTION,
    run: cmdVerify,
    luks: crypt('verify', MAP_OPTIONS),
  },
  'verify-inline': {
    synopsis: 'LOWER [--integrity ALG] [--integrity-key-file F] [--json]',
    summary:
      'check every block of an inline-mode volume (superblock v6) stacked on LOWER, a dm-integrity image without internal hash whose per-sector metadata holds its tags; exit 4 on mismatches',
    options: OPEN_OPTIONS,
    run: cmdVerifyInline,
  },
  status: {
    synopsis: 'DEVICE [open options] [--json] [--format-version 2.6|2.8]',
    summary: 'the volume, its recalculation and its last scrub',
    options: { ...OPEN_OPTIONS, ...DUMP_OPTIONS },
    run: cmdStatus,
    luks: crypt('status'),
  },
  write: {
    synopsis: 'DEVICE [open options] --offset B [--input F]',
    summary: 'write whole blocks (default: from standard input); exit 0 only once flushed',
    options: { ...OPEN_OPTIONS, ...EXTRA_OPTIONS.write },
    run: cmdWrite,
    luks: crypt('write'),
  },
  replay: {
    synopsis: 'DEVICE [open options]',
    summary: 'replay the journal on disk, as the kernel does on activation',
    options: OPEN_OPTIONS,
    run: cmdReplay,
    luks: crypt('replay'),
  },
  recalc: {
    synopsis: 'DEVICE [open options] [--reset] [--max-rate MIB/S] [--progress-json]',
    summary: 'recalculate tags from recalc_sector; Ctrl-C pauses (the position is saved in the superblock)',
    options: { ...OPEN_OPTIONS, ...JOB_OPTIONS },
    run: (p, io) => cmdJob('recalc', p, io),
  },
  scrub: {
    synopsis: 'DEVICE [open options] [--reset] [--max-rate MIB/S] [--progress-json] [--json] [--map-files]',
    summary: 'verify every block, resumable (Ctrl-C pauses; the position is saved beside the image); exit 4 on mismatches',
    options: { ...OPEN_OPTIONS, ...JOB_OPTIONS, ...MAP_OPTIONS },
    descriptions: MAP_DESCRIPTION,
    run: (p, io) => cmdJob('scrub', p, io),
    luks: crypt('scrub', MAP_OPTIONS),
  },
  format: {
    synopsis: 'DEVICE [format options] [--force] [--batch-mode] [--size BYTES] [--json]',
    summary: 'format as integritysetup format does (asks first unless --batch-mode; refuses a device holding data unless --force)',
    options: FORMAT_OPTIONS,
    run: (p, io) => runFormat(p, io),
  },
  errors: {
    synopsis: 'DEVICE [--data-device F] [--csv | --json]',
    summary: "every bad or unreadable range the last scrub found (with what it carried over), as CSV (default) or JSON, streamed; the dashboard's export",
    options: ERRORS_OPTIONS,
    run: cmdErrors,
  },
  live: {
    synopsis: '[list | status NAME [--watch] | scrub NAME [--max-rate MIB/S] [--reset]] [--json]',
    summary:
      "the kernel's active dm-integrity devices: list them, watch one (recalculation position, rate, ETA, mismatches), scrub one while in use (Ctrl-C pauses; exit 4 on bad blocks); needs root or pkexec",
    options: LIVE_OPTIONS,
    descriptions: LIVE_DESCRIPTIONS,
    run: (p, io) => cmdLive(p, io),
  },
  'luks-dump': {
    synopsis: 'DEVICE [--json]',
    summary: 'show the LUKS2 header as cryptsetup luksDump does; never prints keys',
    options: LUKS_DUMP_OPTIONS,
    run: (p, io) => cmdLuksDump(p, io),
  },
  'luks-format': {
    synopsis: 'DEVICE --integrity ALG [cryptsetup luksFormat options]',
    summary: "create a LUKS2 authenticated volume (dm-crypt over dm-integrity) with cryptsetup luksFormat's options",
    options: LUKS_FORMAT_OPTIONS as unknown as Options,
    descriptions: LUKS_FORMAT_DESCRIPTIONS,
    run: ({ values, positionals }, io) => cmdLuksFormat({ values: values as Parameters<typeof cmdLuksFormat>[0]['values'], positionals }, io),
  },
  serve: {
    synopsis: '[--port N] [--new-token] [--data-dir D] [IMAGE ...]',
    summary:
      'the dashboard in a browser: prints its Dashboard URL (127.0.0.1 only; the URL carries the token). Ctrl-C pauses running jobs (their positions are saved) and says what it paused',
    options: SERVE_OPTIONS,
    run: async (p, io) => (await import('../host/serve.js')).cmdServe(p, io),
  },
};

/** `integrity-studio --help`: every command's synopsis, from the table */
export function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name} ${c.synopsis}\n      ${c.summary.split('\n')[0]}`);
  return `usage: integrity-studio COMMAND [DEVICE] [options]
commands:
${lines.join('\n')}
  read|verify|scrub|write|replay|status on a LUKS2 device: [--key-file F] (else a passphrase prompt), as above
  COMMAND --help    the options of COMMAND          --version    the version
open options (as integritysetup): --data-device F --integrity ALG --integrity-key-file F --integrity-key-size N
  --journal-integrity ALG --journal-integrity-key-file F --journal-crypt ALG --journal-crypt-key-file F
  --integrity-bitmap-mode --integrity-no-journal --allow-discards
`;
}

export { version } from '../engine/version.js';

function helpOf(name: string, c: CliCommand): string {
  let h = commandHelp(name, c.synopsis, c.summary, c.options, c.descriptions ?? {});
  if (c.luks) h += `on a LUKS2 device: integrity-studio ${name} ${c.luks.synopsis}\n${optionLines(c.luks.options)}`;
  return h;
}

export async function main(argv: string[], io: Io = defaultIo): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    const sub = cmd === 'help' ? rest[0] : undefined;
    if (sub && COMMANDS[sub]) {
      io.out(helpOf(sub, COMMANDS[sub]));
      return EXIT_OK;
    }
    io.out(usage());
    return cmd ? EXIT_OK : EXIT_USAGE;
  }
  if (cmd === '--version' || cmd === '-V' || cmd === 'version') {
    io.out(`integrity-studio ${version()}\n`);
    return EXIT_OK;
  }
  const c = Object.hasOwn(COMMANDS, cmd) ? COMMANDS[cmd] : undefined;
  if (!c) {
    io.err(`integrity-studio: unknown command "${cmd}"\n${usage()}`);
    return EXIT_USAGE;
  }
  // -h is --hash for luks-format (as in cryptsetup)
  if (rest.includes('--help') || (!c.options.hash && rest.includes('-h'))) {
    io.out(helpOf(cmd, c));
    return EXIT_OK;
  }
  try {
    // a LUKS2 device: dm-crypt over dm-integrity (cli/crypt.ts), with that variant's options
    const luks = c.luks && rest.some((a) => !a.startsWith('-') && isLuks2(a)) ? c.luks : null;
    const { values, positionals } = parseArgs({ args: rest, options: luks ? luks.options : c.options, allowPositionals: true, strict: true });
    return await (luks ? luks.run : c.run)({ values: values as Values, positionals }, io);
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
      // the crypt commands (cli/crypt.ts) mark their usage errors with the code EUSAGE
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

/** The process entry (bin/integrity-studio.js calls it): argv, exit code, and a closed pipe's quiet end. */
export async function runCli(argv: string[] = process.argv.slice(2)): Promise<void> {
  // a closed pipe (`… | head -1`) ends quietly: a running job pauses first (its position is saved), then exit 0
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    if (!stdoutClosed()) process.exit(EXIT_OK);
  });
  process.exitCode = await main(argv);
}
