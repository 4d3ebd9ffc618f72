// A minimal recalc/scrub runner over the engine's own primitives (IntegrityTarget.verify, computeTags, the
// superblock's recalc_sector), used by EngineHost ONLY while engine/jobs (the real worker-thread runner, branch
// `jobs`) is not in the build. It follows the same JobSpec/JobProgress/JobHandle contract, runs on the host's
// thread in 1 MiB chunks yielding between them, persists recalc_sector after every chunk (a pause or crash
// loses nothing), and keeps the scrub position in memory only.
import { openVolume, writeSuperblock, type Volume } from '../../engine/volume.js';
import { SB_FLAG_RECALCULATING, SECTOR_SIZE } from '../../engine/format/superblock.js';
import { dataSector, tagOffset } from '../../engine/format/geometry.js';
import { alignedBuffer } from '../../engine/io/aligned.js';
import { computeTags } from '../../engine/target/write.js';
import type { JobHandle, JobProgress, JobSpec } from '../../engine/jobs/types.js';

const CHUNK = 2048; // sectors
const scrubPositions = new Map<string, number>();

export function fallbackStartJob(spec: JobSpec, onProgress: (p: JobProgress) => void): JobHandle {
  let pauseWanted = false;
  let pausedResolve: ((p: JobProgress) => void) | null = null;
  const opts = {
    dataDevice: spec.dataDevice, integrity: spec.integrity, integrityKey: spec.integrityKey ? Buffer.from(spec.integrityKey) : undefined,
    journalIntegrity: spec.journalIntegrity, journalIntegrityKey: spec.journalIntegrityKey ? Buffer.from(spec.journalIntegrityKey) : undefined,
    journalCrypt: spec.journalCrypt, journalCryptKey: spec.journalCryptKey ? Buffer.from(spec.journalCryptKey) : undefined,
  };
  const finished = new Promise<JobProgress>((resolve) => {
    let vol: Volume | null = null;
    const base = { job: spec.kind, position_sector: 0, total_sectors: 0, start_sector: 0, bytes_per_second: 0, eta_ms: null, mismatches: 0, bad_ranges: [] as Array<[number, number]>, journal: null };
    const fail = (e: unknown) => {
      try { vol?.close(); } catch { /* already closed */ }
      const p: JobProgress = { ...base, state: 'failed', error: (e as Error).message };
      onProgress(p);
      resolve(p);
    };
    try {
      if (spec.kind === 'wipe') throw new Error('wipe runs as part of format in this build');
      vol = openVolume(spec.device, { ...opts, readOnly: spec.kind === 'scrub' });
      const v = vol;
      const total = v.sb.provided_data_sectors;
      if (spec.kind === 'recalc') {
        if (!(v.sb.flags & SB_FLAG_RECALCULATING)) throw new Error(`${spec.device}: the superblock is not recalculating (format it with --integrity-recalculate)`);
        if (spec.reset) { v.sb.recalc_sector = 0; writeSuperblock(v); }
      }
      let pos = spec.kind === 'recalc' ? v.sb.recalc_sector : spec.reset ? 0 : scrubPositions.get(spec.device) ?? 0;
      if (pos >= total) pos = spec.kind === 'scrub' ? 0 : total;
      const start = pos;
      const t0 = Date.now();
      const bad: Array<[number, number]> = [];
      let mismatches = 0;
      const g = v.geometry;
      const buf = alignedBuffer(CHUNK * SECTOR_SIZE);
      const progress = (state: JobProgress['state']): JobProgress => {
        const secs = (Date.now() - t0) / 1000;
        const bps = secs > 0 ? ((pos - start) * SECTOR_SIZE) / secs : 0;
        return { ...base, state, position_sector: pos, total_sectors: total, start_sector: start, bytes_per_second: Math.round(bps), eta_ms: bps > 0 ? Math.round(((total - pos) * SECTOR_SIZE / bps) * 1000) : null, mismatches, bad_ranges: bad.map((r) => [r[0], r[1]] as [number, number]) };
      };
      const step = () => {
        try {
          if (pauseWanted || pos >= total) {
            const p = progress(pos >= total ? 'done' : 'paused');
            if (spec.kind === 'scrub') scrubPositions.set(spec.device, pos >= total ? 0 : pos);
            v.close();
            onProgress(p);
            pausedResolve?.(p);
            resolve(p);
            return;
          }
          const n = v.target.contiguousRun(pos, Math.min(CHUNK, total - pos));
          if (spec.kind === 'scrub') {
            mismatches += v.target.verify(pos, n, (sector) => {
              const last = bad[bad.length - 1];
              if (last && last[1] === sector) last[1] = sector + g.sectors_per_block;
              else bad.push([sector, sector + g.sectors_per_block]);
            });
          } else {
            const chunk = buf.subarray(0, n * SECTOR_SIZE);
            v.data.read(chunk, dataSector(g, pos) * SECTOR_SIZE);
            v.meta.write(computeTags(v.target, pos, chunk), tagOffset(g, pos));
            v.meta.flush();
            v.sb.recalc_sector = pos + n;
            writeSuperblock(v);
          }
          pos += n;
          onProgress(progress('running'));
          setTimeout(step, 0);
        } catch (e) {
          fail(e);
        }
      };
      onProgress(progress('running'));
      setTimeout(step, 0);
    } catch (e) {
      fail(e);
    }
  });
  return {
    spec: { kind: spec.kind, device: spec.device },
    finished,
    pause() {
      pauseWanted = true;
      return new Promise<JobProgress>((r) => { pausedResolve = r; void finished.then(r); });
    },
  };
}
