// Scrub of a LUKS2 authenticated volume: every encryption sector decrypted and authenticated, every failing one
// listed (the sectors dm-crypt would log as "INTEGRITY AEAD ERROR"), 0 bytes written to the volume. Resumable as
// the plain scrub: position and findings in the same engine/jobs state file (IMAGE.scrub.json, named by the
// dm-integrity salt and size), persisted every PERSIST_SECTORS and on pause. Runs in this thread in chunks,
// yielding between them so a signal handler can ask it to pause.
import { CHUNK_SECTORS } from '../integrity/target.js';
import { PERSIST_SECTORS } from '../jobs/run.js';
import { addBadBlock, resumeJobState, writeJobState } from '../jobs/state.js';
import { openCryptVolume, type CryptSegment } from './volume.js';

export interface CryptScrubProgress {
  position_sector: number;
  total_sectors: number;
  start_sector: number;
  failed_sectors: number;
}

export interface CryptScrubResult extends CryptScrubProgress {
  state: 'done' | 'paused';
  sectors_per_block: number;
  /** encryption sectors authenticated in this run and the runs it resumed */
  checked_sectors: number;
  /** first 512-byte sector of every encryption sector failing authentication, ascending */
  bad_sectors: number[];
  bad_ranges: Array<[number, number]>;
}

export interface CryptScrubOptions {
  reset?: boolean;
  shouldStop?: () => boolean;
  onProgress?: (p: CryptScrubProgress) => void;
}

export async function scrubCrypt(path: string, segment: CryptSegment, volumeKey: Uint8Array, o: CryptScrubOptions = {}): Promise<CryptScrubResult> {
  const v = openCryptVolume(path, segment, volumeKey, { readOnly: true });
  try {
    const spb = v.spb;
    const total = v.sectors;
    const st = resumeJobState(v.integrity, 'scrub', o.reset);
    st.total_sectors = total;
    if (st.position_sector % spb || st.position_sector > total) Object.assign(st, { position_sector: 0, mismatches: 0, bad_ranges: [], checked_blocks: 0 });
    const start = st.position_sector;
    const report = () => o.onProgress?.({ position_sector: st.position_sector, total_sectors: total, start_sector: start, failed_sectors: st.mismatches });
    report();
    let sincePersist = 0;
    while (st.position_sector < total) {
      const s = st.position_sector;
      const n = Math.min(CHUNK_SECTORS, total - s);
      const before = v.stats.checked_sectors;
      v.read(s, n, null, 0, (bad) => {
        st.mismatches++;
        addBadBlock(st.bad_ranges, bad, spb);
      });
      st.checked_blocks += v.stats.checked_sectors - before;
      st.position_sector = s + n;
      sincePersist += n;
      report();
      await new Promise((r) => setImmediate(r));
      if (st.position_sector < total && o.shouldStop?.()) break;
      if (sincePersist >= PERSIST_SECTORS) {
        writeJobState(v.integrity, st);
        sincePersist = 0;
      }
    }
    const done = st.position_sector >= total;
    st.state = done ? 'done' : 'paused';
    writeJobState(v.integrity, st);
    const bad_sectors: number[] = [];
    for (const [a, b] of st.bad_ranges) for (let x = a; x < b; x += spb) bad_sectors.push(x);
    return {
      state: st.state,
      position_sector: st.position_sector,
      total_sectors: total,
      start_sector: start,
      failed_sectors: st.mismatches,
      sectors_per_block: spb,
      checked_sectors: st.checked_blocks,
      bad_sectors,
      bad_ranges: st.bad_ranges,
    };
  } finally {
    v.close();
  }
}
