// The host's bound on a mapping of known damage (host/fsmap/worker.ts runs it in a worker thread).
import { DAMAGE_FIRST_RANGES } from '../../engine/api.js';
import { mapBadSectors, type SectorRange, type SectorSource } from '../../engine/fsmap/index.js';
import type { FsMapResult } from '../../engine/fsmap/types.js';

/**
 * At most this many ranges of known damage are mapped. The mapper holds every range it is given several times over
 * while it works (about 400 bytes a range at its peak: a million ranges took the host to 492 MiB); past this many the
 * rest are one 'unmapped' item that says why, so a failing disk's millions of bad ranges keep the host bounded.
 */
export const MAP_RANGE_LIMIT = 200_000;

/** Maps the first `limit` ranges (ascending, as the damage logs give them); the rest, counted, become one item saying they were not mapped. */
export function mapLimited(src: SectorSource, ranges: Iterable<SectorRange>, limit = MAP_RANGE_LIMIT): FsMapResult {
  const rest: SectorRange[] = [];
  let restTotal = 0,
    restSectors = 0,
    n = 0;
  function* first(): Generator<SectorRange> {
    for (const r of ranges) {
      if (n++ < limit) {
        yield r;
        continue;
      }
      restTotal++;
      restSectors += r[1] - r[0];
      if (rest.length < DAMAGE_FIRST_RANGES) rest.push(r);
    }
  }
  const result = mapBadSectors(src, first());
  if (!restTotal) return result;
  // the generator ran to its end inside mapBadSectors (it reads every range before mapping), so the counts are whole
  result.items.push({
    kind: 'unmapped',
    past_limit: true,
    ranges: rest,
    ranges_total: restTotal,
    sectors: restSectors,
    reason: `not mapped: only the first ${limit.toLocaleString('en-US')} of ${(limit + restTotal).toLocaleString('en-US')} ranges of known damage are mapped (a bound on the host's memory); these ${restTotal.toLocaleString('en-US')} come after them`,
  });
  result.bad_sectors += restSectors;
  result.unmapped_sectors += restSectors;
  return result;
}
