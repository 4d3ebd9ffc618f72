// The damage log against a plain model (every block's kind in an array): random bad and unreadable blocks of both
// kinds, in runs and alone, with flushes and an interrupted run (resume cuts back what the state did not count);
// every page, every "from" summary, the map and the counts equal the model's; a million bad blocks stay small.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { tmpDir } from '../../testing/golden.js';
import { addSummaries, allOf, allRanges, DamageLog, emptyDamageState, pageOf, summaryFrom, type DamageKind, type DamageState } from './damage.js';
import { DAMAGE_FIRST_RANGES } from '../api.js';

const dir = tmpDir('damage-');

/** a seeded generator (mulberry32), so a failure can be replayed */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** the model: ranges of each kind from per-block marks */
function ranges(marks: Array<DamageKind | null>, spb: number, kind: DamageKind, from = 0): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  marks.forEach((m, b) => {
    const s = b * spb;
    if (m !== kind || s + spb <= from) return;
    const a = Math.max(s, from);
    const last = out[out.length - 1];
    if (last && last[1] === a) last[1] = s + spb;
    else out.push([a, s + spb]);
  });
  return out;
}

test('damage log: pages, summaries from any position, the map and counts equal the model; an interrupted run resumes from what its state counted', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const r = rng(seed);
    const spb = seed % 2 ? 1 : 8;
    const blocks = 20000;
    const total = blocks * spb;
    const marks: Array<DamageKind | null> = new Array(blocks).fill(null);
    const file = path.join(dir, `log-${seed}`);
    let state: DamageState | undefined;
    let log = DamageLog.resume(file, state, total, spb);
    let saved: DamageState = structuredClone(log.state);
    let savedMarks = [...marks];
    let crashed = false;
    for (let b = 0; b < blocks; b++) {
      const x = r();
      // runs and lone blocks of both kinds, more bad than unreadable
      const kind: DamageKind | null = x < 0.08 ? 'bad' : x < 0.1 ? 'read-error' : null;
      if (kind && !(b > 0 && marks[b - 1] && marks[b - 1] !== kind && r() < 0.5)) {
        marks[b] = kind;
        log.add(kind, b * spb);
      }
      if (b % 997 === 0) {
        log.passed(b * spb);
        log.flush();
        saved = structuredClone(log.state);
        savedMarks = [...marks];
      }
      if (b === 12345 && !crashed) {
        crashed = true;
        // killed here: what the state file said is what counts; the log written past it is cut back, and the scrub
        // goes on from the block after the position that state saved (the last multiple of 997)
        log.flush();
        marks.splice(0, marks.length, ...savedMarks);
        log = DamageLog.resume(file, structuredClone(saved), total, spb);
        b = Math.floor(12345 / 997) * 997;
      }
    }
    log.finish();
    const src = { file, state: log.state };
    for (const kind of ['bad', 'read-error'] as const) assert.deepEqual(allOf(src, kind), ranges(marks, spb, kind), `seed ${seed} ${kind}: all ranges`);
    const s = summaryFrom(src, 0, spb);
    assert.equal(s.bad_blocks, marks.filter((m) => m === 'bad').length);
    assert.equal(s.read_errors, marks.filter((m) => m === 'read-error').length);
    assert.equal(s.bad_range_count, ranges(marks, spb, 'bad').length);
    assert.deepEqual(s.bad_ranges, ranges(marks, spb, 'bad').slice(0, DAMAGE_FIRST_RANGES));
    const w = s.map.sectors_per_cell;
    assert.deepEqual(
      s.map.bad,
      s.map.bad.map((_, c) => marks.filter((m, b) => m === 'bad' && Math.floor((b * spb) / w) === c).length),
      'the map counts each cell',
    );
    // from any position: exactly what lies at or past it
    for (const from of [1, spb * 3, 77 * spb + (spb > 1 ? 3 : 0), total / 3, total / 2 + 5, total - spb, total]) {
      const f = summaryFrom(src, from, spb);
      const fb = marks.filter((m, b) => m === 'bad' && b * spb + spb > from);
      assert.equal(f.bad_blocks, fb.length, `seed ${seed} from ${from}: bad blocks`);
      assert.equal(f.read_errors, marks.filter((m, b) => m === 'read-error' && b * spb + spb > from).length);
      assert.equal(f.bad_range_count, ranges(marks, spb, 'bad', from).length, `seed ${seed} from ${from}: ranges`);
      assert.deepEqual(f.bad_ranges, ranges(marks, spb, 'bad', from).slice(0, DAMAGE_FIRST_RANGES));
      assert.equal(
        f.map.bad.reduce((a, b) => a + b, 0),
        f.bad_blocks,
        'the map adds up to the count',
      );
    }
    // pages of every size cover the list once, in order
    for (const size of [1, 7, 500]) {
      const got = [...allRanges([{ src }], new Set<DamageKind>(['bad', 'read-error']), size)];
      const want = [
        ...ranges(marks, spb, 'bad').map((x) => ({ kind: 'bad', first_sector: x[0], end_sector: x[1] })),
        ...ranges(marks, spb, 'read-error').map((x) => ({ kind: 'read-error', first_sector: x[0], end_sector: x[1] })),
      ].sort((p, q) => p.first_sector - q.first_sector);
      assert.deepEqual(got, want, `seed ${seed}: pages of ${size}`);
    }
  }
});

test("damage log: the last finished scrub's ranges past a position merge with the current one's, once each", () => {
  const spb = 1;
  const mk = (name: string, bad: number[]) => {
    const l = DamageLog.resume(path.join(dir, name), undefined, 1000, spb);
    for (const b of bad) l.add('bad', b);
    l.finish();
    return { file: path.join(dir, name), state: l.state };
  };
  const prev = mk('prev', [10, 11, 500, 501, 800]);
  const cur = mk('cur', [10, 300]);
  // the current scrub is at 600: before it, its own findings; from it on, the last finished one's
  const page = pageOf([{ src: cur }, { src: prev, from: 600 }], 0, 10, new Set<DamageKind>(['bad']));
  assert.deepEqual(
    page.rows.map((r) => [r.first_sector, r.end_sector]),
    [
      [10, 11],
      [300, 301],
      [800, 801],
    ],
  );
  const known = addSummaries(summaryFrom(cur, 0, spb), summaryFrom(prev, 600, spb));
  assert.equal(known.bad_blocks, 3);
  assert.deepEqual(known.bad_ranges, [
    [10, 11],
    [300, 301],
    [800, 801],
  ]);
});

test('damage log: a million bad blocks (every other block) take about 2 bytes each and a bounded state', () => {
  const file = path.join(dir, 'million');
  const l = DamageLog.resume(file, undefined, 2_000_000, 1);
  for (let b = 0; b < 2_000_000; b += 2) l.add('bad', b);
  l.finish();
  const size = fs.statSync(file).size;
  assert.ok(size <= 2.1e6, `${size} bytes for 10^6 ranges`);
  const json = JSON.stringify(l.state).length;
  assert.ok(json < 64 * 1024, `the state (index, summary) is ${json} bytes`);
  const s = summaryFrom({ file, state: l.state }, 1_000_001, 1);
  assert.equal(s.bad_blocks, 499_999);
  assert.equal(s.bad_range_count, 499_999);
  const p = pageOf([{ src: { file, state: l.state } }], 1_500_000, 3, new Set<DamageKind>(['bad']));
  assert.deepEqual(
    p.rows.map((r) => r.first_sector),
    [1_500_000, 1_500_002, 1_500_004],
  );
  assert.equal(emptyDamageState(10).bytes, 0);
});
