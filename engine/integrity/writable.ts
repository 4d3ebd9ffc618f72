// A volume opened for writing in one of the kernel's three modes. Opening replays the journal on disk first
// (as the kernel does on activation), so what we leave is what the kernel would leave.
import { IntegrityStudioError } from '../errors.js';
import { SECTOR_SIZE } from '../layout/superblock.js';
import { openVolume, openVolumeOn, type JournalMode, type Volume, type VolumeOptions } from '../volume.js';
import type { BlockDevice } from '../io/device.js';
import { checkWrite, discardTags, writeInPlace } from './write.js';
import { JournalWriter, type JournalState, type SectionSealer } from './journal-writer.js';
import { initJournal, sectionSealer } from './replay.js';
import { recalculate, resumeVolume } from './bitmap-mode.js';
import { journalCodec } from './journal-keys.js';

export interface WritableVolume extends Volume {
  readonly mode: JournalMode;
  /** writes whole blocks at a byte offset of the provided data; `tags` (one per block) only without internal hash */
  write(offset: number, data: Buffer, tags?: Uint8Array): void;
  /** discards whole blocks (needs allowDiscards, as the kernel's allow_discards) */
  discard(offset: number, length: number): void;
  /** makes every write before it durable */
  flush(): void;
  journalState(): JournalState | null;
}

export const DIRECT_MODE_WARNING =
  'direct mode (--integrity-no-journal) writes data and tags without a journal: a crash or power loss during a write can leave blocks that fail verification and can no longer be read';

/** what a writable open can report while it runs: the dirty-bitmap recalculation of an unclean bitmap-mode close */
export interface WritableOpenOptions {
  /** the recalculation's position (512-byte sectors reached of `total`), after each chunk */
  onRecalcProgress?: (done: number, total: number) => void;
}

export function openWritable(path: string, o: VolumeOptions & WritableOpenOptions & { dataDevice?: string } = {}): WritableVolume {
  return writableOver(openVolume(path, { ...o, readOnly: false }), o);
}

/** openWritable over devices the caller has opened (fault-injecting devices in crash tests); see openVolumeOn. */
export function openWritableOn(meta: BlockDevice, data: BlockDevice | null, name: string, o: VolumeOptions & WritableOpenOptions = {}): WritableVolume {
  return writableOver(openVolumeOn(meta, data, name, { ...o, readOnly: false }), o);
}

function writableOver(vol: Volume, o: VolumeOptions & WritableOpenOptions): WritableVolume {
  try {
    const mode = o.mode ?? 'journal';
    const t = vol.target;
    const seal: SectionSealer = sectionSealer(vol);
    // dm_integrity_resume: journal replay, bitmap set-up, and a recalculation after an unclean bitmap-mode close
    const { pos, session, recalcNeeded } = resumeVolume(vol, mode, o);
    if (recalcNeeded) recalculate(vol, session, o.onRecalcProgress);
    const journal = mode === 'journal' ? new JournalWriter(t, pos, seal, journalCodec(vol).commitIds) : null;
    const w: WritableVolume = {
      ...vol,
      mode,
      write(offset, data, tags) {
        if (offset % SECTOR_SIZE) throw new IntegrityStudioError(`offset ${offset} is not a multiple of 512`);
        const sector = offset / SECTOR_SIZE;
        const sectors = checkWrite(t, sector, data);
        if (!!tags !== !!t.hasher.external)
          throw new IntegrityStudioError(
            t.hasher.external ? 'this volume has no internal hash: writes need their tags' : 'tags are computed by the internal hash, not supplied',
          );
        if (tags && tags.length !== (sectors / t.geometry.sectors_per_block) * t.geometry.tag_size)
          throw new IntegrityStudioError(
            `${tags.length} bytes of tags for ${sectors / t.geometry.sectors_per_block} blocks of ${t.geometry.tag_size}-byte tags`,
          );
        session?.beforeWrite(sector, sectors);
        if (journal) journal.write(sector, data, tags);
        else writeInPlace(t, sector, data, tags);
      },
      discard(offset, length) {
        if (!o.allowDiscards) throw new IntegrityStudioError('discards need --allow-discards');
        if (journal) journal.commit();
        t.checkRange(offset / SECTOR_SIZE, length / SECTOR_SIZE);
        session?.beforeWrite(offset / SECTOR_SIZE, length / SECTOR_SIZE);
        discardTags(t, offset / SECTOR_SIZE, length / SECTOR_SIZE);
      },
      flush() {
        if (journal) journal.commit();
        else {
          t.data.flush();
          if (t.data !== t.meta) t.meta.flush();
        }
        session?.afterFlush();
      },
      journalState: () => journal?.state() ?? null,
      close() {
        try {
          if (journal) journal.closeJournal((start, n, seq) => initJournal(vol, start, n, seq));
          else if (session) session.close();
          else w.flush();
        } finally {
          vol.close();
        }
      },
    };
    return w;
  } catch (e) {
    vol.close();
    throw e;
  }
}
