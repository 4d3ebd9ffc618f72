// Where a volume's known damage is: the scrub state file (ours beside the image, or the LUKS2 one) and the damage
// logs behind it, with where the current scrub is (the last finished scrub's findings count past it). Shared by the
// snapshot, the damage list and exports, and the file-system mapping.
import { openVolume } from '../engine/volume.js';
import { jobStatePath, readJobStateAt, volumeIdOf, type JobStateFile } from '../engine/jobs/state.js';
import { summaryFrom, type DamageSource } from '../engine/jobs/damage.js';
import { knownDamageLogs } from './job-views.js';
import { luksScrubStateFile } from './luks/header-view.js';
import type { Entry } from './volumes.js';

export function scrubStateOf(e: Entry): { st: JobStateFile | null; file: string } {
  if (e.luks) return luksScrubStateFile(e.path);
  const file = jobStatePath(e.path, 'scrub');
  try {
    const v = openVolume(e.path, { dataDevice: e.options.data_device ?? undefined, superblockOnly: true });
    try {
      return { st: readJobStateAt(file, volumeIdOf(v.sb)), file };
    } finally {
      v.close();
    }
  } catch {
    return { st: null, file };
  }
}

/** The logs behind a volume's known damage, with where the current scrub is (the finished one counts past it). */
export function sourcesOf(
  e: Entry,
  spb = 1,
): {
  sources: Array<{ src: DamageSource; from?: number }>;
  scrub: { state: string; started_at: string | null; finished_at: string | null; checked_blocks: number; total_sectors: number };
  counts: { bad: number; read: number };
} {
  const { st, file } = scrubStateOf(e);
  const logs = knownDamageLogs(st, file);
  const running = e.jobs.scrub && e.handles.scrub ? e.jobs.scrub.position_sector : null;
  const position = running ?? (st?.state === 'done' ? Number.MAX_SAFE_INTEGER : (st?.position_sector ?? 0));
  const sources: Array<{ src: DamageSource; from?: number }> = [];
  if (logs.current) sources.push({ src: logs.current });
  if (logs.previous && st?.state !== 'done') sources.push({ src: logs.previous, from: position });
  const counts = { bad: 0, read: 0 };
  for (const { src, from } of sources) {
    const sum = summaryFrom(src, from ?? 0, spb);
    counts.bad += sum.bad_blocks;
    counts.read += sum.read_errors;
  }
  return {
    sources,
    counts,
    scrub: {
      state: st?.state ?? 'none',
      started_at: st?.started_at ?? null,
      finished_at: st?.state === 'done' ? (st.finished_at ?? null) : null,
      checked_blocks: st?.checked_blocks ?? 0,
      total_sectors: st?.total_sectors ?? 0,
    },
  };
}
