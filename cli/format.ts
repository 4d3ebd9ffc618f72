// `integrity-studio format DEVICE [options]`: integritysetup format's options, safety checks (existing
// signatures need --force; confirmation "Are you sure? (Type 'yes' in capital letters):" unless --batch-mode)
// and a wipe progress bar with rate and ETA on a terminal.
import fs from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { IntegrityStudioError } from '../engine/errors.js';
import { formatBytes } from '../engine/units.js';
import { intOpt as num, JOURNAL_KEY_OPTIONS, keyFiles, str, type Values } from './args.js';
import { SECTOR_SIZE, superblockFields } from '../engine/layout/superblock.js';
import { formatVolume, parseSize, type FormatOptions, type FormatResult } from '../engine/commands/format.js';
import { describeSignatures } from '../engine/io/probe.js';

export interface FormatIo {
  out: (s: string) => void;
  err: (s: string) => void;
}

export const FORMAT_OPTIONS: NonNullable<ParseArgsConfig['options']> = {
  'data-device': { type: 'string' },
  integrity: { type: 'string', short: 'I' },
  'integrity-key-file': { type: 'string' },
  'integrity-key-size': { type: 'string' },
  'tag-size': { type: 'string', short: 't' },
  'sector-size': { type: 'string', short: 's' },
  'journal-size': { type: 'string', short: 'j' },
  'interleave-sectors': { type: 'string' },
  'buffer-sectors': { type: 'string' },
  ...JOURNAL_KEY_OPTIONS,
  'no-wipe': { type: 'boolean' },
  'integrity-recalculate': { type: 'boolean' },
  'integrity-legacy-padding': { type: 'boolean' },
  'integrity-legacy-hmac': { type: 'boolean' },
  'integrity-bitmap-mode': { type: 'boolean', short: 'B' },
  'integrity-no-journal': { type: 'boolean', short: 'D' },
  'integrity-inline': { type: 'boolean' },
  'batch-mode': { type: 'boolean', short: 'q' },
  force: { type: 'boolean' },
  size: { type: 'string' },
  json: { type: 'boolean' },
  // accepted as integritysetup does; they only tune the kernel at run time
  'journal-watermark': { type: 'string' },
  'journal-commit-time': { type: 'string' },
  'bitmap-sectors-per-bit': { type: 'string' },
  'bitmap-flush-time': { type: 'string' },
  'progress-frequency': { type: 'string' },
  debug: { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
};

/** FormatOptions from parsed command-line values (reads key files). */
export function formatOptions(v: Values): FormatOptions {
  if (v['integrity-bitmap-mode'] && v['integrity-no-journal']) {
    throw new IntegrityStudioError('--integrity-bitmap-mode and --integrity-no-journal exclude each other');
  }
  // integritysetup 2.8 --integrity-inline: the kernel keeps the tags in the device's per-sector metadata
  // (superblock version 6); an image file or a block device without a metadata profile has none.
  if (v['integrity-inline']) {
    throw new IntegrityStudioError(
      '--integrity-inline (inline mode, superblock version 6) needs a device with per-sector integrity metadata (NVMe/SCSI formatted with metadata); a file has none, so the kernel would refuse it too: format it with integritysetup on that device',
    );
  }
  const o: FormatOptions = {
    integrity: str(v, 'integrity'),
    tagSize: num(v, 'tag-size'),
    sectorSize: num(v, 'sector-size'),
    journalSize: str(v, 'journal-size') !== undefined ? parseSize(str(v, 'journal-size')!) : undefined,
    interleaveSectors: num(v, 'interleave-sectors'),
    bufferSectors: num(v, 'buffer-sectors'),
    dataDevice: str(v, 'data-device'),
    noWipe: !!v['no-wipe'],
    integrityRecalculate: !!v['integrity-recalculate'],
    legacyPadding: !!v['integrity-legacy-padding'],
    legacyHmac: !!v['integrity-legacy-hmac'],
    journalIntegrity: str(v, 'journal-integrity'),
    journalCrypt: str(v, 'journal-crypt'),
    mode: v['integrity-bitmap-mode'] ? 'bitmap' : v['integrity-no-journal'] ? 'direct' : 'journal',
    force: !!v.force,
    size: str(v, 'size') !== undefined ? parseSize(str(v, 'size')!) : undefined,
  };
  const keys = keyFiles(v);
  if (keys.integrityKey) o.integrityKey = keys.integrityKey;
  if (keys.journalIntegrityKey) o.journalIntegrityKey = keys.journalIntegrityKey;
  if (keys.journalCryptKey) o.journalCryptKey = keys.journalCryptKey;
  return o;
}

const fmtBytes = formatBytes;

function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  s = Math.round(s);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return `${h ? `${h}:${String(m).padStart(2, '0')}` : m}:${String(sec).padStart(2, '0')}`;
}

/** A progress bar on stderr: "Wiping [#####.....]  45.0%  12.3 MiB/s  ETA 0:03", redrawn at most 10 times a second. */
export function progressBar(
  write: (s: string) => void,
  label = 'Wiping',
  now: () => number = Date.now,
): { update(done: number, total: number): void; end(): void } {
  const start = now();
  let last = 0;
  let drawn = false;
  return {
    update(done, total) {
      const t = now();
      if (done < total && t - last < 100) return;
      last = t;
      const frac = total ? done / total : 1;
      const width = 30;
      const fill = Math.round(frac * width);
      const secs = (t - start) / 1000;
      const rate = secs > 0 ? (done * SECTOR_SIZE) / secs : 0;
      const eta = rate > 0 ? ((total - done) * SECTOR_SIZE) / rate : Infinity;
      write(`\r${label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${(frac * 100).toFixed(1).padStart(5)}%  ${fmtBytes(rate)}/s  ETA ${fmtTime(eta)}  `);
      drawn = true;
    },
    end() {
      if (drawn) write('\n');
    },
  };
}

/** Reads one line from the terminal on stdin (synchronously: format is a one-shot command). */
function readLineSync(): string {
  const buf = Buffer.alloc(1);
  let line = '';
  for (;;) {
    let n: number;
    try {
      n = fs.readSync(0, buf, 0, 1, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      throw e;
    }
    if (n === 0 || buf[0] === 0x0a) return line;
    line += String.fromCharCode(buf[0]!);
  }
}

export interface FormatCommandEnv {
  stdinIsTTY: boolean;
  stderrIsTTY: boolean;
  /** asks the question and returns the answer (default: read a line from stdin) */
  ask?: (prompt: string) => string;
}

export function resultJson(r: FormatResult) {
  const sb = r.plan.superblock;
  const g = r.plan.geometry;
  return {
    device: r.device,
    data_device: r.data_device,
    created: r.created,
    superblock: superblockFields(sb),
    geometry: {
      sector_size: g.block_size,
      journal_section_sectors: g.journal_section_sectors,
      initial_sectors: g.initial_sectors,
      metadata_run: g.meta_dev ? null : g.metadata_run,
      interleave_sectors: g.meta_dev ? null : 2 ** g.log2_interleave_sectors,
    },
    size_bytes: sb.provided_data_sectors * SECTOR_SIZE,
    wiped: r.wiped,
    wiped_sectors: r.wiped_sectors,
    signatures_overwritten: r.signatures_overwritten.map((s) => ({ device: s.device, type: s.type, offset: s.offset })),
    seconds: r.seconds,
  };
}

/** Runs the command; returns the exit code (0 done, 1 error, 2 usage). Errors other than usage are thrown. */
export async function cmdFormat(args: string[], io: FormatIo, env?: FormatCommandEnv): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: FORMAT_OPTIONS, allowPositionals: true, strict: true });
  return runFormat({ values, positionals }, io, env);
}

/** format with its arguments parsed (FORMAT_OPTIONS) */
export async function runFormat(
  { values, positionals }: { values: Record<string, string | boolean | undefined | Array<string | boolean>>; positionals: string[] },
  io: FormatIo,
  env?: FormatCommandEnv,
): Promise<number> {
  if (positionals.length !== 1) {
    io.err(`integrity-studio: format: ${positionals.length ? `unexpected argument "${positionals[1]}"` : 'missing DEVICE'}\n`);
    return 2;
  }
  const device = positionals[0]!;
  const e: FormatCommandEnv = env ?? { stdinIsTTY: !!process.stdin.isTTY, stderrIsTTY: !!process.stderr.isTTY };
  const o = formatOptions(values);
  const batch = !!values['batch-mode'];
  if (!batch && !e.stdinIsTTY && !e.ask) {
    throw new IntegrityStudioError(`refusing to format ${device} without confirmation: stdin is not a terminal (add --batch-mode to confirm)`);
  }
  if (!batch) {
    o.confirm = (message, signatures) => {
      const found = signatures.length ? `${describeSignatures(signatures)}: its signature will be erased (--force).\n` : '';
      io.err(`\nWARNING!\n========\n${message}\n${found}\n`);
      const prompt = "Are you sure? (Type 'yes' in capital letters): ";
      let answer: string;
      if (e.ask) answer = e.ask(prompt);
      else {
        io.err(prompt);
        answer = readLineSync();
      }
      return answer.trim() === 'YES';
    };
    o.onFormatted = (plan) => {
      // integritysetup's messages, in its order
      io.out(`Formatted with tag size ${plan.superblock.integrity_tag_size}, internal integrity ${o.integrity ?? 'crc32c'}.\n`);
      if (!o.noWipe)
        io.out(
          'Wiping device to initialize integrity checksum.\nYou can interrupt this by pressing CTRL+c (rest of not wiped device will contain invalid checksum).\n',
        );
    };
  }
  const bar = e.stderrIsTTY && !values.json ? progressBar(io.err) : null;
  const r = formatVolume(device, o, bar ? (d, t) => bar.update(d, t) : undefined);
  bar?.end();
  if (r.plan.tag_size_warning) io.err(`integrity-studio: warning: ${r.plan.tag_size_warning}\n`);
  if (values.json) io.out(JSON.stringify(resultJson(r), null, 2) + '\n');
  else if (!batch && !r.wiped) {
    io.out('Not wiped (--no-wipe): blocks not written since carry no valid tag until recalculated (open with --integrity-recalculate).\n');
  }
  return 0;
}
