// Small option readers shared by the CLI commands (cli/main.ts, cli/format.ts), and writeAll.
import fs from 'node:fs';
import { IntegrityStudioError } from '../engine/errors.js';
import type { ParseArgsConfig } from 'node:util';
import { readKeyFile, type VolumeOptions } from '../engine/volume.js';

/** The journal MAC and encryption options, the same in format and open (integritysetup's names). */
export const JOURNAL_KEY_OPTIONS = {
  'journal-integrity': { type: 'string' },
  'journal-integrity-key-file': { type: 'string' },
  'journal-integrity-key-size': { type: 'string' },
  'journal-crypt': { type: 'string' },
  'journal-crypt-key-file': { type: 'string' },
  'journal-crypt-key-size': { type: 'string' },
} as const;

export type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** A whole-number option, or undefined when absent; anything else is one clear error. */
export function intOpt(v: Values, name: string): number | undefined {
  const s = v[name];
  if (s === undefined) return undefined;
  if (typeof s !== 'string' || !/^\d+$/.test(s)) throw new IntegrityStudioError(`--${name} takes a whole number, not "${String(s)}"`);
  return Number(s);
}

export function str(v: Values, name: string): string | undefined {
  const s = v[name];
  return typeof s === 'string' ? s : undefined;
}

/** The three keys integritysetup takes as files (--integrity-, --journal-integrity-, --journal-crypt-key-file). */
export function keyFiles(v: Values): { integrityKey?: Buffer; journalIntegrityKey?: Buffer; journalCryptKey?: Buffer } {
  const read = (opt: string, what: string) => {
    const f = str(v, `${opt}-key-file`);
    return f ? readKeyFile(f, intOpt(v, `${opt}-key-size`), what) : undefined;
  };
  return {
    integrityKey: read('integrity', 'integrity key'),
    journalIntegrityKey: read('journal-integrity', 'journal integrity key'),
    journalCryptKey: read('journal-crypt', 'journal crypt key'),
  };
}

/**
 * Writes all of `b` to `fd`: a write to a pipe may take only part of it (stdout is non-blocking under Node), and a
 * full pipe answers EAGAIN until its reader catches up; the rest is written then, so nothing is lost.
 */
export function writeAll(fd: number, b: Uint8Array): void {
  let done = 0;
  while (done < b.length) {
    try {
      done += fs.writeSync(fd, b, done, b.length - done);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      // the reader is behind: wait a moment for it instead of spinning (Atomics.wait sleeps this thread)
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
    }
  }
}

/** integritysetup open's options, as every command that opens a volume takes them */
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
  // bitmap mode's granularity and flush interval (the granularity is kept in the superblock)
  'bitmap-sectors-per-bit': { type: 'string' },
  'bitmap-flush-time': { type: 'string' },
  // accepted and ignored: they only tune the kernel at run time
  'journal-watermark': { type: 'string' },
  'journal-commit-time': { type: 'string' },
  'buffer-sectors': { type: 'string' },
  'sector-size': { type: 'string', short: 's' },
  'tag-size': { type: 'string', short: 't' },
  debug: { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
};

/** The engine's open options from the parsed command line (key files read here: keys are bytes past the CLI). */
export function volumeOptions(v: Values): VolumeOptions {
  const o: VolumeOptions = {};
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

/** Where a command writes (tests capture it). */
export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  stdout: NodeJS.WritableStream & { fd?: number };
}
