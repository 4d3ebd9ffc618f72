// The host's bound on a mapping of known damage: past the limit, the ranges are one item that says they were not
// mapped and why, with their count and sectors; below it, the mapping is the mapper's own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bufferSource, mapBadSectors, type SectorRange } from '../../engine/fsmap/index.js';
import { DAMAGE_FIRST_RANGES } from '../../engine/api.js';
import { mapLimited } from './limit.js';
import { holdsOf, holdsText } from './holds.js';

const src = bufferSource(Buffer.alloc(4096 * 512), 'nothing.img');
const ranges = (n: number): SectorRange[] => Array.from({ length: n }, (_, i) => [2 * i, 2 * i + 1] as const);

test('past the limit the rest of the ranges are one item saying they were not mapped, counted whole', () => {
  const r = mapLimited(src, ranges(1000), 300);
  assert.equal(r.bad_sectors, 1000, 'every known bad sector is counted');
  const rest = r.items.find((i) => i.kind === 'unmapped' && i.reason.startsWith('not mapped: only the first 300 of 1,000'));
  assert.ok(rest, JSON.stringify(r.items.map((i) => (i.kind === 'unmapped' ? i.reason : i.kind))));
  assert.equal(rest.ranges_total, 700);
  assert.equal(rest.sectors, 700);
  assert.equal(rest.ranges.length, DAMAGE_FIRST_RANGES, 'its first ranges listed, bounded');
  assert.deepEqual(rest.ranges[0], [600, 601], 'the first range after the limit');
  // the first 300 were mapped as the mapper maps them (here: no file system)
  const mapped = r.items.filter((i) => i !== rest).reduce((n, i) => n + i.sectors, 0);
  assert.equal(mapped, 300);
  assert.equal(r.unmapped_sectors, 1000);
});

test("at or below the limit the mapping is the mapper's own", () => {
  assert.deepEqual({ ...mapLimited(src, ranges(300), 300), stats: null }, { ...mapBadSectors(src, ranges(300)), stats: null });
});

test("the export says what each range holds: past the limit, the limit's item; before it, the one item the capped ranges can be in", () => {
  const r = mapLimited(src, ranges(1000), 300);
  const idx = holdsOf(r);
  // range 900 is past the limit (the 301st range starts at sector 600)
  const past = r.items.find((i) => i.kind === 'unmapped' && i.past_limit);
  assert.ok(past && past.kind === 'unmapped');
  assert.deepEqual(idx.at(1800, 1801), { holds: [{ kind: 'unmapped', sectors: 1, reason: past.reason }] });
  // range 290 was mapped (no file system here) but lies past the 256 ranges its item lists: still named, not "one of"
  const h = idx.at(580, 581);
  assert.equal(h.unlisted_sectors, undefined);
  assert.equal(h.holds.length, 1);
  assert.match(holdsText(h), /^could not map: no known file system/);
});
