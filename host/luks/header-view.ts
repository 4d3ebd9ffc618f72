import path from 'node:path';
import { runWorker } from '../workers/run.js';
import { IntegrityStudioError } from '../../engine/errors.js';
import { FileDevice } from '../../engine/io/device.js';
import { SliceDevice } from '../../engine/io/slice.js';
import { SECTOR_SIZE, flagNames } from '../../engine/layout/superblock.js';
import { openVolumeOn, type Volume } from '../../engine/volume.js';
import { readLuks2Header, type Luks2Info, type Luks2Secret } from '../../engine/luks/index.js';
import { luksDumpText } from '../../engine/luks/dump.js';
import { segmentFromLuks, type CryptSegment } from '../../engine/crypt/volume.js';
import { journalOnDisk } from '../../engine/integrity/journal-disk.js';
import { jobStatePath, readJobStateAt, volumeIdOf, type JobStateFile } from '../../engine/jobs/state.js';
import type { JobHandle } from '../../engine/jobs/types.js';
import type { JobKind, JobProgress, LuksInfo, LuksSecretInput, VolumeSnapshot, VolumeState } from '../../engine/api.js';
import { scanView } from '../job-views.js';
import { fingerprintOf } from '../../engine/jobs/fingerprint.js';
import { shellQuote } from '../open-command.js';

/** Whether `p` starts with a LUKS2 header (either copy's magic, version 2), as blkid tells LUKS2 apart. */
export { isLuks2 } from '../../engine/luks/header.js';

/** The secret of a request as engine/luks takes it: the passphrase as UTF-8 bytes (the caller zeroes them). */
export function secretOf(s: LuksSecretInput | undefined): Luks2Secret | null {
  if (!s) return null;
  if ('passphrase' in s) return { passphrase: Buffer.from(s.passphrase, 'utf8') };
  return { keyFile: path.resolve(s.file) };
}

export function zeroSecret(s: Luks2Secret | null): void {
  s?.passphrase?.fill(0);
}

const PRIORITY = ['ignored', 'normal', 'preferred'] as const;

/** The header as the dashboard shows it (what luks-dump prints; no key material). */
export function luksInfoOf(info: Luks2Info, locked: boolean): LuksInfo {
  const s = info.dataSegment;
  return {
    uuid: info.uuid,
    label: info.label,
    cipher: s.encryption ?? '',
    integrity: s.integrity?.type ?? null,
    sector_size: s.sectorSize ?? 512,
    volume_key_bits: info.volumeKeySize * 8,
    data_offset: s.offset,
    keyslots: info.keyslots.map((k) => ({
      id: k.id,
      type: k.type,
      key_bits: k.keySize * 8,
      priority: PRIORITY[k.priority ?? 1] ?? 'normal',
      cipher: k.area.encryption,
      kdf: k.kdf.type,
      ...(k.kdf.type === 'pbkdf2' ? { hash: k.kdf.hash, iterations: k.kdf.iterations } : { time: k.kdf.time, memory_kib: k.kdf.memory, threads: k.kdf.cpus }),
    })),
    damaged: [info.primary, info.secondary]
      .filter((c) => !c.valid)
      .map((c) => `the ${c.copy} header (offset ${c.offset}) is damaged: ${c.problem}; the ${info.used} copy is used`),
    dump: luksDumpText(info),
    locked,
  };
}

/** The dm-integrity superblock below the header (no key needed), opened read-only; the caller closes it. */
export function openLuksIntegrity(p: string, seg: CryptSegment): Volume {
  const dev = FileDevice.open(p, { readOnly: true });
  let slice: SliceDevice;
  try {
    if (seg.offset % SECTOR_SIZE || seg.offset >= dev.size)
      throw new IntegrityStudioError(`${p}: the LUKS2 data segment offset ${seg.offset} is not inside the device (${dev.size} bytes)`, 'EFORMAT');
    const size = seg.size === 'dynamic' ? dev.size - seg.offset : Math.min(seg.size, dev.size - seg.offset);
    slice = new SliceDevice(dev, seg.offset, size);
  } catch (e) {
    dev.close();
    throw e;
  }
  return openVolumeOn(slice, null, p, { externalTags: true, superblockOnly: true, readOnly: true });
}

/** 512-byte sectors the dm-crypt device presents (CryptVolume.size without opening it with a key). */
export function cryptSectors(vol: Volume, seg: CryptSegment): number {
  const spb = seg.sector_size / SECTOR_SIZE;
  let sectors = vol.geometry.provided_data_sectors;
  if (seg.size !== 'dynamic') sectors = Math.min(sectors, Math.floor(seg.size / SECTOR_SIZE));
  return sectors - (sectors % spb);
}

/** The scrub state file of a LUKS2 volume (named by its dm-integrity salt and size, as the CLI's crypt scrub). */
export function luksScrubState(p: string): JobStateFile | null {
  return luksScrubStateFile(p).st;
}

/** The same, with the state file's path (its damage log lies beside it). */
export function luksScrubStateFile(p: string): { st: JobStateFile | null; file: string } {
  const file = jobStatePath(p, 'scrub');
  try {
    const info = readLuks2Header(p);
    const v = openLuksIntegrity(p, segmentFromLuks(info));
    try {
      return { st: readJobStateAt(file, volumeIdOf(v.sb)), file };
    } finally {
      v.close();
    }
  } catch {
    return { st: null, file };
  }
}

export interface LuksEntryView {
  path: string;
  name: string;
  handles: Partial<Record<JobKind, JobHandle>>;
  jobs: Partial<Record<JobKind, JobProgress>>;
  error: string | null;
  locked: boolean;
}

export const LOCKED_MESSAGE =
  'locked: the host does not hold the volume key of this LUKS2 volume (it forgets keys when it restarts): Unlock it with its passphrase or key file';

/**
 * Fills a snapshot of a LUKS2 volume: the header (without a key), the dm-integrity superblock below it, the scrub's
 * verification from the shared state file (in encryption sectors, which are the dm-integrity blocks), the
 * journal on disk, and the commands. Returns the conditions.
 */
export function fillLuksSnapshot(s: VolumeSnapshot, e: LuksEntryView, hostStartedAt: string): VolumeState[] {
  const conds: VolumeState[] = [];
  let info: Luks2Info;
  try {
    info = readLuks2Header(e.path);
  } catch (err) {
    s.error = (err as Error).message;
    return ['unreadable'];
  }
  s.luks = luksInfoOf(info, e.locked);
  const seg = segmentFromLuks(info);
  s.algorithm = `${seg.encryption}${seg.integrity ? ` + ${seg.integrity}` : ''}`;
  s.open_command = ['cryptsetup', 'open', '--type', 'luks2', e.path, e.name.replace(/[^\w.-]+/g, '_') || 'luks'].map(shellQuote).join(' ');
  s.dm_table = '';
  // the badge, the page's note and the action say it; the error line stays for problems
  if (e.locked) conds.push('locked');
  if (!seg.integrity) {
    s.error = `${e.path}: the LUKS2 segment has no integrity (plain dm-crypt, not an authenticated volume): nothing here to verify`;
    conds.push('unreadable');
    return conds;
  }
  let vol: Volume;
  try {
    vol = openLuksIntegrity(e.path, seg);
  } catch (err) {
    s.error = `the dm-integrity superblock below the LUKS2 header cannot be read: ${(err as Error).message}`;
    conds.push('unreadable');
    return conds;
  }
  try {
    const sb = vol.sb,
      g = vol.geometry;
    const spb = seg.sector_size / SECTOR_SIZE;
    const sectors = cryptSectors(vol, seg);
    s.size_bytes = sectors * SECTOR_SIZE;
    s.superblock = {
      version: sb.version,
      flags: flagNames(sb.flags),
      integrity_tag_size: sb.integrity_tag_size,
      journal_sections: sb.journal_sections,
      provided_data_sectors: sb.provided_data_sectors,
      log2_interleave_sectors: sb.log2_interleave_sectors,
      log2_sectors_per_block: sb.log2_sectors_per_block,
      log2_blocks_per_bitmap_bit: sb.log2_blocks_per_bitmap_bit,
      recalc_sector: null,
    };
    s.geometry = {
      block_size: g.block_size,
      tag_size: g.tag_size,
      initial_sectors: g.initial_sectors,
      metadata_run: g.metadata_run,
      journal_section_sectors: g.journal_section_sectors,
      journal_entries: g.journal_entries,
      meta_dev: g.meta_dev,
    };
    const stateFile = jobStatePath(e.path, 'scrub');
    const sv = scanView({
      st: readJobStateAt(stateFile, volumeIdOf(sb)),
      live: e.jobs.scrub ?? null,
      liveRunning: !!e.handles.scrub,
      totalSectors: sectors,
      spb,
      now: fingerprintOf(vol),
      hostStartedAt,
      stateFile,
    });
    const v = sv.verification;
    // the digest proved the key: every sector failing is not a wrong key but unwritten (no-wipe) or overwritten tags
    const allFailed = v.suspect_algorithm_or_key;
    v.suspect_algorithm_or_key = false;
    s.verification = v;
    s.error_count = v.bad_blocks;
    s.bad_ranges = v.bad_ranges;
    if (sv.job && !(sv.job.state !== 'running' && e.jobs.scrub?.state === 'failed')) s.jobs.scrub = sv.job;
    else if (e.jobs.scrub?.state !== 'failed') delete s.jobs.scrub;
    delete s.jobs.recalc;
    conds.push(...sv.conditions);
    if (allFailed && !e.error) {
      s.error = `every checked sector failed authentication (a guess: the volume was made without the wipe, "no wipe", so unwritten sectors have no valid tag; or its tag area was overwritten)`;
    }
    s.runs = sv.runs.sort((a, b) => a.started_at.localeCompare(b.started_at));
    // the journal below dm-crypt carries the tags; its committed entries are read (a read-only open overlays them) without a key
    try {
      s.journal_disk = journalOnDisk(vol, 'journal');
      if (s.journal_disk.committed_entries > 0) conds.push('journal-replay');
    } catch {
      s.journal_disk = null;
    }
  } finally {
    vol.close();
  }
  return conds;
}

/** What the LUKS format worker posts. */
export type LuksFormatMessage =
  | { type: 'kdf'; kdf: string; elapsed_ms: number; estimate_ms: number; fraction: number; done: boolean }
  | { type: 'wipe'; done: number; total: number }
  | { type: 'done'; volumeKey: Uint8Array }
  | { type: 'error'; message: string; code?: string };

export interface LuksFormatWorkerData {
  path: string;
  options: {
    integrity: string;
    cipher?: string;
    keySize?: number;
    sectorSize?: number;
    pbkdf?: 'argon2id' | 'argon2i' | 'pbkdf2';
    pbkdfIterations?: number;
    pbkdfMemory?: number;
    noWipe: boolean;
    label?: string;
  };
  /** the passphrase bytes, or a key file on the host */
  passphrase?: Uint8Array;
  keyFile?: string;
}

/** formatCryptVolume in a worker thread (KDF and wipe off the host's event loop); resolves with the volume key. */
export async function formatLuksInWorker(data: LuksFormatWorkerData, onMessage: (m: LuksFormatMessage) => void): Promise<Buffer> {
  const m = await runWorker<Extract<LuksFormatMessage, { type: 'done' }>, LuksFormatMessage>(
    new URL('../workers/luks-format-worker.js', import.meta.url),
    data,
    'format',
    onMessage,
  );
  const k = Buffer.from(m.volumeKey);
  m.volumeKey.fill(0);
  return k;
}
