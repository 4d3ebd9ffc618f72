// The CLI on LUKS2 authenticated volumes (dm-crypt over dm-integrity): read, verify, scrub, write, replay and
// status on a device whose first bytes are the LUKS2 magic (main.ts hands them here), and luks-format.
// Unlocking: --key-file F (as cryptsetup; --keyfile-offset/--keyfile-size/--key-slot) or a passphrase typed on
// the terminal without echo; with neither a key file nor a terminal we refuse. The volume key never leaves
// this process. Exit codes as main.ts: 0 ok, 1 error, 2 usage, 4 sectors failing authentication.
import fs from 'node:fs';
import type { parseArgs } from 'node:util';
import { IntegrityStudioError } from '../engine/errors.js';
import { SECTOR_SIZE } from '../engine/layout/superblock.js';
import { readLuks2Header, type Luks2Secret } from '../engine/luks/index.js';
import { segmentFromLuks, unlockCryptVolume, type CryptVolume } from '../engine/crypt/volume.js';
import { scrubCrypt } from '../engine/crypt/scrub.js';
import { formatCryptVolume } from '../engine/crypt/format.js';
import { openVolumeOn } from '../engine/volume.js';
import { FileDevice } from '../engine/io/device.js';
import { SliceDevice } from '../engine/io/slice.js';
import { readJobState, jobStatePath } from '../engine/jobs/state.js';
import { humanEta, humanRate } from './jobs.js';
import { writeAll } from './args.js';
import { mappingFields, rangesOf, uncheckedList, type CheckReport } from './report.js';
import { mapCrypt, mappingText } from './fsmap.js';
import { cryptSource, mapBadSectors } from '../engine/fsmap/index.js';
import { unlockLuks2 } from '../engine/luks/index.js';

export interface CryptIo {
  out: (s: string) => void;
  err: (s: string) => void;
  outBinary?: (b: Buffer) => void;
}

/** Whether `path` starts with the LUKS2 magic (read-only peek; false when it cannot be read). */
export { isLuks2 } from '../engine/luks/header.js';

export const CRYPT_COMMANDS = ['read', 'verify', 'scrub', 'write', 'replay', 'status'];

export const CRYPT_OPTIONS = {
  'key-file': { type: 'string', short: 'd' },
  'keyfile-offset': { type: 'string' },
  'keyfile-size': { type: 'string', short: 'l' },
  'key-slot': { type: 'string', short: 'S' },
  'integrity-no-journal': { type: 'boolean' },
  json: { type: 'boolean' },
  'batch-mode': { type: 'boolean', short: 'q' },
  offset: { type: 'string' },
  length: { type: 'string' },
  output: { type: 'string' },
  input: { type: 'string' },
  'continue-on-error': { type: 'boolean' },
  reset: { type: 'boolean' },
  'progress-json': { type: 'boolean' },
  debug: { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
} as const;

function int(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new IntegrityStudioError(`--${name} ${v} is not a non-negative integer`, 'EUSAGE');
  return Number(v);
}

/** A passphrase typed on the terminal with echo off (raw mode), as cryptsetup's prompt. */
export async function promptPassphrase(prompt: string): Promise<Buffer> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    throw new IntegrityStudioError(
      'no --key-file given and stdin is not a terminal: give --key-file F (a passphrase is only read from a terminal, without echo)',
    );
  }
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  const chunks: number[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const onData = (d: Buffer) => {
        for (const c of d) {
          if (c === 0x0d || c === 0x0a) {
            stdin.off('data', onData);
            return resolve();
          }
          if (c === 0x03) {
            stdin.off('data', onData);
            return reject(new IntegrityStudioError('interrupted', 'EINTR'));
          }
          if (c === 0x7f || c === 0x08) chunks.pop();
          else chunks.push(c);
        }
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
    process.stderr.write('\n');
  }
  const b = Buffer.from(chunks);
  chunks.fill(0);
  return b;
}

async function secretOf(values: Record<string, unknown>, device: string): Promise<Luks2Secret> {
  const kf = values['key-file'] as string | undefined;
  if (kf !== undefined)
    return {
      keyFile: kf,
      keyFileOffset: int(values['keyfile-offset'] as string | undefined, 'keyfile-offset'),
      keyFileSize: int(values['keyfile-size'] as string | undefined, 'keyfile-size'),
    };
  return { passphrase: await promptPassphrase(`Enter passphrase for ${device}: `) };
}

async function unlock(values: Record<string, unknown>, device: string, readOnly: boolean, io: CryptIo): Promise<CryptVolume> {
  const secret = await secretOf(values, device);
  let last = 0;
  try {
    const { volume } = await unlockCryptVolume(device, secret, {
      readOnly,
      mode: values['integrity-no-journal'] ? 'direct' : 'journal',
      keyslot: int(values['key-slot'] as string | undefined, 'key-slot'),
      onProgress: (p) => {
        if (!process.stderr.isTTY || Date.now() - last < 500) return;
        last = Date.now();
        if ('fraction' in p && typeof p.fraction === 'number') io.err(`\rUnlocking: ${(p.fraction * 100).toFixed(0)}%`);
      },
    });
    if (last) io.err('\r\x1b[K');
    return volume;
  } finally {
    secret.passphrase?.fill(0);
  }
}

function failedLines(device: string, bad: number[], spb: number): string {
  const shown = bad
    .slice(0, 1000)
    .map((s) => `${device}: INTEGRITY AEAD ERROR, sector ${s}${spb > 1 ? ` (${spb * SECTOR_SIZE}-byte sector ${s}..${s + spb - 1})` : ''}\n`);
  return shown.join('') + (bad.length > 1000 ? `… and ${bad.length - 1000} more (--json lists them all)\n` : '');
}

/** read, verify, scrub, write, replay or status of a LUKS2 device, its arguments parsed with CRYPT_OPTIONS */
export type CryptValues = ReturnType<typeof parseArgs<{ options: typeof CRYPT_OPTIONS; allowPositionals: true }>>['values'] & { 'map-files'?: boolean };
type LuksFormatValues = ReturnType<typeof parseArgs<{ options: typeof FORMAT_OPTIONS; allowPositionals: true }>>['values'];

export async function cmdCrypt(cmd: string, values: CryptValues, positionals: string[], io: CryptIo): Promise<number> {
  if (positionals.length !== 1) throw new IntegrityStudioError(`${cmd} needs exactly one DEVICE`, 'EUSAGE');
  const device = positionals[0]!;
  if (cmd === 'status') return cryptStatus(device, !!values.json, io);
  if (cmd === 'scrub') return cryptScrub(device, values, io);
  const writable = cmd === 'write' || cmd === 'replay';
  const pending = cmd === 'replay' ? pendingEntries(device) : 0;
  const v = await unlock(values, device, !writable, io);
  try {
    if (cmd === 'read') {
      const offset = int(values.offset, 'offset') ?? 0;
      const length = int(values.length, 'length') ?? v.size - offset;
      const bs = v.segment.sector_size;
      if (offset % bs || length % bs)
        throw new IntegrityStudioError(`--offset and --length must be multiples of the ${bs}-byte encryption sector size`, 'EUSAGE');
      if (offset + length > v.size) throw new IntegrityStudioError(`the range ends at byte ${offset + length}, past the end of the volume (${v.size} bytes)`);
      const bad: number[] = [];
      const fd = values.output ? fs.openSync(values.output, 'w', 0o600) : null;
      try {
        const chunk = 4 << 20;
        for (let done = 0; done < length; done += chunk) {
          const n = Math.min(chunk, length - done);
          const buf = Buffer.alloc(n);
          v.read((offset + done) / SECTOR_SIZE, n / SECTOR_SIZE, buf, 0, values['continue-on-error'] ? (s) => bad.push(s) : undefined);
          // every byte, whatever the reader's pace (a pipe takes part of a write and then says EAGAIN)
          if (fd !== null) writeAll(fd, buf);
          else if (io.outBinary) io.outBinary(buf);
          else writeAll(1, buf);
        }
      } finally {
        if (fd !== null) fs.closeSync(fd);
      }
      if (bad.length) {
        io.err(failedLines(device, bad, v.spb) + `${bad.length} sector(s) failed authentication and were output as zeros\n`);
        return 4;
      }
      return 0;
    }
    if (cmd === 'verify') {
      const bad: number[] = [];
      v.read(0, v.sectors, null, 0, (s) => bad.push(s));
      const r = {
        device,
        checked_sectors: v.stats.checked_sectors,
        sector_size: v.segment.sector_size,
        failed_sectors: bad.length,
        bad_sectors: bad,
        cipher: v.cipher.kernelName,
      };
      // the plaintext around the failing sectors (they have none: reported unreadable to the mapper)
      const mapped = values['map-files'] && bad.length ? mappingFields(() => mapBadSectors(cryptSource(v), rangesOf(bad, v.spb))) : {};
      if (values.json) {
        const report: CheckReport = {
          device,
          type: 'luks2',
          command: 'verify',
          state: 'done',
          block_size: v.segment.sector_size,
          provided_data_sectors: v.sectors,
          position_sector: v.sectors,
          checked_blocks: v.stats.checked_sectors,
          checked_sectors: v.stats.checked_sectors * v.spb,
          unchecked_blocks: 0,
          unchecked: [],
          mismatches: bad.length,
          bad_sectors: bad,
          bad_ranges: rangesOf(bad, v.spb),
          read_errors: 0,
          read_error_ranges: [],
          cipher: v.cipher.kernelName,
          ...mapped,
        };
        io.out(JSON.stringify(report) + '\n');
      } else {
        io.out(failedLines(device, bad, v.spb));
        io.out(
          `checked: ${r.checked_sectors} ${r.sector_size}-byte sectors (${v.size} bytes, every sector), ${v.cipher.kernelName}\nfailed authentication: ${bad.length}\n`,
        );
        if (mapped.mapping) io.out(mappingText(mapped.mapping));
        if (bad.length) io.out('action: the listed sectors read as I/O errors through dm-crypt; restore them from a backup or rewrite them\n');
      }
      if (mapped.mapping_error) io.err(`integrity-studio: could not map the failing sectors: ${mapped.mapping_error}\n`);
      return bad.length ? 4 : 0;
    }
    if (cmd === 'write') {
      const offset = int(values.offset, 'offset');
      if (offset === undefined) throw new IntegrityStudioError('write needs --offset BYTES', 'EUSAGE');
      const data = values.input ? fs.readFileSync(values.input) : fs.readFileSync(0);
      v.write(offset, data);
      v.flush();
      io.err(
        `wrote ${data.length} bytes at ${offset} (${data.length / v.segment.sector_size} sectors, ${v.cipher.ivMode === 'random' ? 'fresh random IV each' : `IV ${v.cipher.ivMode} of each sector`}, through the ${v.writable && values['integrity-no-journal'] ? 'no journal (direct mode)' : 'journal'}), flushed\n`,
      );
      return 0;
    }
    if (cmd === 'replay') {
      io.out(
        `${device}: journal replayed as the kernel does on activation: ${pending} committed entr${pending === 1 ? 'y' : 'ies'} copied to their places (tags as stored; dm-crypt authenticates them on read)\n`,
      );
      return 0;
    }
    throw new IntegrityStudioError(`unknown command ${cmd}`, 'EUSAGE');
  } finally {
    v.close();
  }
}

/** Committed journal entries a replay would copy (no key needed: the tags are not checked at this layer). */
function pendingEntries(device: string): number {
  const seg = segmentFromLuks(readLuks2Header(device));
  const dev = FileDevice.open(device, { readOnly: true });
  const vol = openVolumeOn(new SliceDevice(dev, seg.offset, seg.size === 'dynamic' ? dev.size - seg.offset : seg.size), null, device, {
    externalTags: true,
    readOnly: true,
  });
  try {
    return vol.replay?.writes.length ?? 0;
  } finally {
    vol.close();
  }
}

/** status: header and dm-integrity state without the key (a locked volume still has a status). */
function cryptStatus(device: string, json: boolean, io: CryptIo): number {
  const info = readLuks2Header(device);
  const seg = segmentFromLuks(info);
  const dev = FileDevice.open(device, { readOnly: true });
  const slice = new SliceDevice(dev, seg.offset, seg.size === 'dynamic' ? dev.size - seg.offset : seg.size);
  const vol = openVolumeOn(slice, null, device, { externalTags: true, readOnly: true });
  try {
    const pending = vol.replay?.writes.length ?? 0;
    const scrub = readJobState(vol, 'scrub');
    const r = {
      device,
      type: 'LUKS2',
      state: 'locked (no key needed for status)',
      uuid: info.uuid,
      cipher: seg.encryption,
      integrity: seg.integrity,
      sector_size: seg.sector_size,
      segment_offset: seg.offset,
      tag_size: vol.sb.integrity_tag_size,
      provided_data_sectors: vol.geometry.provided_data_sectors,
      journal_sections: vol.geometry.journal_sections,
      journal_entries_to_replay: pending,
      scrub: scrub
        ? {
            state: scrub.state,
            position_sector: scrub.position_sector,
            total_sectors: scrub.total_sectors,
            failed_sectors: scrub.mismatches,
            file: jobStatePath(device, 'scrub'),
          }
        : null,
    };
    if (json) io.out(JSON.stringify(r) + '\n');
    else {
      io.out(
        `${device}: LUKS2 authenticated volume (dm-crypt over dm-integrity)\n  cipher: ${r.cipher}\n  integrity: ${r.integrity}\n  sector size: ${r.sector_size} bytes\n` +
          `  data segment: offset ${r.segment_offset} bytes, ${r.provided_data_sectors} sectors, ${r.tag_size}-byte tags\n  journal: ${r.journal_sections} sections, ${pending} committed entries not yet replayed\n` +
          `  scrub: ${scrub ? `${scrub.state} at sector ${scrub.position_sector} of ${scrub.total_sectors}, ${scrub.mismatches} failing sector(s)` : 'never run'}\n`,
      );
    }
    return 0;
  } finally {
    vol.close();
  }
}

async function cryptScrub(device: string, values: Record<string, unknown>, io: CryptIo): Promise<number> {
  const secret = await secretOf(values, device);
  const { info, volumeKey } = await unlockLuks2(device, secret, { keyslot: int(values['key-slot'] as string | undefined, 'key-slot') });
  secret.passphrase?.fill(0);
  let stop = false;
  const onSig = () => (stop = true);
  process.on('SIGINT', onSig);
  process.on('SIGTERM', onSig);
  const t0 = Date.now();
  let lastShown = 0;
  try {
    const r = await scrubCrypt(device, segmentFromLuks(info), volumeKey, {
      reset: !!values.reset,
      shouldStop: () => stop,
      onProgress: (p) => {
        const now = Date.now();
        if (now - lastShown < 100 && p.position_sector < p.total_sectors) return;
        lastShown = now;
        const rate = ((p.position_sector - p.start_sector) * SECTOR_SIZE * 1000) / Math.max(1, now - t0);
        const eta = rate > 0 ? ((p.total_sectors - p.position_sector) * SECTOR_SIZE * 1000) / rate : null;
        if (values['progress-json'])
          io.out(
            JSON.stringify({ job: 'scrub', state: 'running', ...p, bytes_per_second: Math.round(rate), eta_ms: eta === null ? null : Math.round(eta) }) + '\n',
          );
        else if (process.stderr.isTTY) {
          const frac = p.total_sectors ? p.position_sector / p.total_sectors : 1;
          io.err(
            `\rscrub [${'#'.repeat(Math.round(frac * 30)).padEnd(30, '.')}] ${(frac * 100).toFixed(1)}% ${humanRate(rate)} ETA ${humanEta(eta)} failed ${p.failed_sectors}`,
          );
        }
      },
    });
    if (process.stderr.isTTY && !values['progress-json']) io.err('\n');
    const mapped = values['map-files'] && r.bad_ranges.length ? mappingFields(() => mapCrypt(device, segmentFromLuks(info), volumeKey, r.bad_ranges)) : {};
    if (mapped.mapping_error) io.err(`integrity-studio: could not map the failing sectors: ${mapped.mapping_error}\n`);
    if (values.json) {
      const notReached = Math.ceil((r.total_sectors - r.position_sector) / r.sectors_per_block);
      const report: CheckReport = {
        device,
        type: 'luks2',
        command: 'scrub',
        state: r.state,
        block_size: r.sectors_per_block * SECTOR_SIZE,
        provided_data_sectors: r.total_sectors,
        position_sector: r.position_sector,
        start_sector: r.start_sector,
        checked_blocks: r.checked_sectors,
        checked_sectors: r.checked_sectors * r.sectors_per_block,
        unchecked_blocks: notReached,
        unchecked: uncheckedList({ 'not-reached': notReached }),
        mismatches: r.failed_sectors,
        bad_sectors: r.bad_sectors,
        bad_ranges: r.bad_ranges,
        read_errors: 0,
        read_error_ranges: [],
        ...mapped,
      };
      io.out(JSON.stringify(report) + '\n');
    } else {
      io.out(failedLines(device, r.bad_sectors, r.sectors_per_block));
      io.out(
        `scrub ${r.state}: ${r.position_sector} of ${r.total_sectors} sectors checked (${r.checked_sectors} encryption sectors authenticated${r.start_sector ? `, resumed at sector ${r.start_sector}` : ''}); ${r.failed_sectors} failed authentication; 0 bytes written to the volume\n`,
      );
      if (mapped.mapping) io.out(mappingText(mapped.mapping));
      if (r.state === 'paused') io.out(`action: run the same command again to resume (integrity-studio scrub ${device})\n`);
    }
    return r.failed_sectors ? 4 : 0;
  } finally {
    volumeKey.fill(0);
    process.off('SIGINT', onSig);
    process.off('SIGTERM', onSig);
  }
}

export const FORMAT_OPTIONS = {
  integrity: { type: 'string', short: 'I' },
  cipher: { type: 'string', short: 'c' },
  'key-size': { type: 'string', short: 's' },
  'sector-size': { type: 'string' },
  pbkdf: { type: 'string' },
  'pbkdf-force-iterations': { type: 'string' },
  'pbkdf-memory': { type: 'string' },
  'pbkdf-parallel': { type: 'string' },
  'iter-time': { type: 'string', short: 'i' },
  hash: { type: 'string', short: 'h' },
  'integrity-no-wipe': { type: 'boolean' },
  'batch-mode': { type: 'boolean', short: 'q' },
  'key-file': { type: 'string', short: 'd' },
  'keyfile-offset': { type: 'string' },
  'keyfile-size': { type: 'string', short: 'l' },
  label: { type: 'string' },
  type: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export async function cmdLuksFormat({ values, positionals }: { values: LuksFormatValues; positionals: string[] }, io: CryptIo): Promise<number> {
  if (positionals.length !== 1) throw new IntegrityStudioError('luks-format needs exactly one DEVICE', 'EUSAGE');
  if (values.type && values.type !== 'luks2') throw new IntegrityStudioError(`--type ${values.type}: only luks2 is made here`, 'EUSAGE');
  const device = positionals[0]!;
  const pbkdf = values.pbkdf as string | undefined;
  if (pbkdf && !['argon2id', 'argon2i', 'pbkdf2'].includes(pbkdf))
    throw new IntegrityStudioError(`--pbkdf ${pbkdf}: use argon2id, argon2i or pbkdf2`, 'EUSAGE');
  if (!values['batch-mode']) {
    if (!process.stdin.isTTY) throw new IntegrityStudioError('without --batch-mode luks-format asks for confirmation, and stdin is not a terminal');
    process.stderr.write(`WARNING!\n========\nThis will overwrite data on ${device} irrevocably.\n\nAre you sure? (Type 'yes' in capital letters): `);
    const answer = await new Promise<string>((r) => process.stdin.once('data', (d) => r(String(d).trim())));
    process.stdin.pause();
    if (answer !== 'YES') throw new IntegrityStudioError('Operation aborted.');
  }
  let secret: Luks2Secret;
  if (values['key-file'] !== undefined)
    secret = {
      keyFile: values['key-file'],
      keyFileOffset: int(values['keyfile-offset'], 'keyfile-offset'),
      keyFileSize: int(values['keyfile-size'], 'keyfile-size'),
    };
  else {
    const a = await promptPassphrase(`Enter passphrase for ${device}: `);
    const b = await promptPassphrase('Verify passphrase: ');
    const same = a.equals(b);
    b.fill(0);
    if (!same) {
      a.fill(0);
      throw new IntegrityStudioError('Passphrases do not match.');
    }
    secret = { passphrase: a };
  }
  const t0 = Date.now();
  let last = 0;
  try {
    const r = await formatCryptVolume(device, {
      secret,
      integrity: values.integrity,
      cipher: values.cipher,
      keySize: int(values['key-size'], 'key-size'),
      sectorSize: int(values['sector-size'], 'sector-size'),
      pbkdf: pbkdf as 'argon2id' | 'argon2i' | 'pbkdf2' | undefined,
      pbkdfIterations: int(values['pbkdf-force-iterations'], 'pbkdf-force-iterations'),
      pbkdfMemory: int(values['pbkdf-memory'], 'pbkdf-memory'),
      pbkdfParallel: int(values['pbkdf-parallel'], 'pbkdf-parallel'),
      iterTimeMs: int(values['iter-time'], 'iter-time'),
      hash: values.hash,
      label: values.label,
      noWipe: !!values['integrity-no-wipe'],
      onWipe: (done, total) => {
        const now = Date.now();
        if (!process.stderr.isTTY || (now - last < 100 && done < total)) return;
        last = now;
        const rate = (done * 1000) / Math.max(1, now - t0);
        io.err(
          `\rWiping device to initialize integrity checksum: ${(done / 2 ** 20).toFixed(1)} MiB of ${(total / 2 ** 20).toFixed(1)} MiB (${((done / total) * 100).toFixed(0)}%) ${humanRate(rate)} ETA ${humanEta(((total - done) * 1000) / Math.max(rate, 1))}`,
        );
      },
    });
    if (process.stderr.isTTY && r.wiped_bytes) io.err('\n');
    const out = {
      device,
      uuid: r.info.uuid,
      cipher: r.info.dataSegment.encryption,
      integrity: r.info.dataSegment.integrity?.type,
      sector_size: r.info.dataSegment.sectorSize,
      tag_size: r.tag_size,
      provided_data_sectors: r.provided_data_sectors,
      wiped_bytes: r.wiped_bytes,
    };
    if (values.json) io.out(JSON.stringify(out) + '\n');
    else
      io.out(
        `${device}: LUKS2 ${out.cipher} + ${out.integrity}, ${out.sector_size}-byte sectors, ${out.provided_data_sectors} data sectors${r.wiped_bytes ? `, ${r.wiped_bytes} bytes wiped` : ', not wiped (--integrity-no-wipe: unwritten sectors fail authentication until written)'}\n`,
      );
    return 0;
  } finally {
    secret.passphrase?.fill(0);
  }
}
