import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyUnchecked, runLiveScrub, verifiedLimit, type LiveScrubGeometry, type LiveScrubPosition } from './scrub-run.js';
import type { IntegrityStatus } from './types.js';

function fresh(g: LiveScrubGeometry): LiveScrubPosition {
  return {
    position_sector: 0,
    start_sector: 0,
    total_sectors: g.total_sectors,
    block_sectors: g.block_sectors,
    checked_blocks: 0,
    bad_blocks: 0,
    bad_ranges: [],
    read_errors: 0,
    read_error_ranges: [],
    unchecked: emptyUnchecked(),
    failed_reads: 0,
    kernel_mismatches: { at_start: null, now: null, increase: 0, table_loads_seen: 0 },
  };
}

/**
 * A device as dm-integrity serves it: a read request fails with EILSEQ when it covers a bad block the kernel checks
 * (every failing request adds one to the kernel's counter, as in the guests), with EIO when it covers an unreadable
 * block; a request reaching past recalc_sector is not checked at all (dm_integrity_map_continue).
 */
function simulated(opts: {
  bad?: number[];
  unreadable?: number[];
  recalc?: () => number | null;
  total: number;
  bs: number;
  verifies?: boolean;
  counterStart?: number;
}) {
  let counter = opts.counterStart ?? 0;
  const reads: Array<[number, number]> = [];
  return {
    reads,
    io: {
      buffer: Buffer.alloc(1 << 20),
      read(_buf: Buffer, offset: number, length: number) {
        const s = offset / 512;
        const n = length / 512;
        reads.push([s, n]);
        const covers = (list: number[] | undefined) => (list ?? []).some((b) => b < s + n && b + opts.bs > s);
        if (covers(opts.unreadable)) throw Object.assign(new Error('EIO'), { code: 'EIO' });
        const r = opts.recalc?.() ?? null;
        const checked = opts.verifies !== false && (r === null || s + n <= r);
        if (checked && covers(opts.bad)) {
          counter++;
          throw Object.assign(new Error('EILSEQ'), { code: 'EILSEQ' });
        }
      },
      status(): IntegrityStatus {
        return { mismatches: counter, provided_data_sectors: opts.total, recalc_sector: opts.recalc?.() ?? null };
      },
    },
  };
}

const hooks = (over: Partial<Parameters<typeof runLiveScrub>[3]> = {}) => ({ shouldStop: () => false, progress: () => {}, ...over });

test('finds exactly the bad blocks by bisection; the counter rises once per failing request', () => {
  const g: LiveScrubGeometry = { total_sectors: 8192, block_sectors: 8, mode: 'J', verifier: 'dm-integrity', chunk_bytes: 1 << 20 };
  const dev = simulated({ bad: [1000, 5000 + 8, 5016], total: 8192, bs: 8, counterStart: 7 });
  const p = fresh(g);
  assert.equal(runLiveScrub(g, dev.io, p, hooks()), true);
  // 1000 is not block-aligned in sectors of 8: the block holding it starts at 1000 - 1000 % 8 = 1000
  assert.deepEqual(p.bad_ranges, [
    [1000, 1008],
    [5008, 5024],
  ]);
  assert.equal(p.bad_blocks, 3);
  assert.equal(p.checked_blocks, 1024 - 3);
  assert.equal(p.kernel_mismatches.at_start, 7);
  assert.equal(p.kernel_mismatches.increase, p.failed_reads, 'every failing read counted once by the kernel');
  assert.ok(p.failed_reads > p.bad_blocks, 'narrowing re-reads the bad blocks');
});

test('a chunk is split at the recalculation position; blocks past it are named, not checked', () => {
  const g: LiveScrubGeometry = { total_sectors: 4096, block_sectors: 1, mode: 'J', verifier: 'dm-integrity', chunk_bytes: 1 << 20 };
  // a bad block before the position is found; one past it reads fine (the kernel does not check it)
  const dev = simulated({ bad: [100, 3000], total: 4096, bs: 1, recalc: () => 2500 });
  const p = fresh(g);
  runLiveScrub(g, dev.io, p, hooks());
  assert.deepEqual(p.bad_ranges, [[100, 101]]);
  assert.equal(p.checked_blocks, 2500 - 1);
  assert.equal(p.unchecked.recalculating, 4096 - 2500);
  assert.ok(
    dev.reads.some(([s, n]) => s === 2048 && s + n === 2500),
    'the verified read ends at the position',
  );
});

test('bitmap mode: the region holding the position is not verified either', () => {
  const g: LiveScrubGeometry = { total_sectors: 65536, block_sectors: 8, mode: 'B', verifier: 'dm-integrity', sectors_per_bit: 8192, chunk_bytes: 1 << 20 };
  assert.deepEqual(verifiedLimit(g, { mismatches: 0, provided_data_sectors: 65536, recalc_sector: 20000 }), { limit: 16384, recalc: 20000 });
  assert.deepEqual(verifiedLimit(g, { mismatches: 0, provided_data_sectors: 65536, recalc_sector: null }), { limit: 65536, recalc: 65536 });
  const dev = simulated({ total: 65536, bs: 8, recalc: () => 20000 });
  const p = fresh(g);
  runLiveScrub(g, dev.io, p, hooks());
  assert.equal(p.checked_blocks, 16384 / 8);
  assert.equal(p.unchecked['dirty-bitmap'], (20000 - 16384) / 8);
  assert.equal(p.unchecked.recalculating, (65536 - 20000) / 8);
});

test('recovery mode and a device nobody verifies: nothing is checked, read errors still found', () => {
  for (const [mode, verifier, reason] of [
    ['R', 'nothing', 'recovery-mode'],
    ['D', 'nothing', 'not-verified'],
  ] as const) {
    const g: LiveScrubGeometry = { total_sectors: 2048, block_sectors: 1, mode, verifier };
    const dev = simulated({ bad: [5], unreadable: [700], total: 2048, bs: 1, verifies: false });
    const p = fresh(g);
    runLiveScrub(g, dev.io, p, hooks());
    assert.equal(p.checked_blocks, 0);
    assert.equal(p.bad_blocks, 0);
    assert.deepEqual(p.read_error_ranges, [[700, 701]]);
    assert.equal(p.unchecked[reason], 2047);
  }
});

test('pause and resume: the position is kept, nothing is counted twice', () => {
  const g: LiveScrubGeometry = { total_sectors: 16384, block_sectors: 8, mode: 'J', verifier: 'dm-integrity', chunk_bytes: 1 << 20 };
  const dev = simulated({ bad: [9000], total: 16384, bs: 8 });
  const p = fresh(g);
  let chunks = 0;
  assert.equal(runLiveScrub(g, dev.io, p, hooks({ shouldStop: () => chunks++ >= 3 })), false);
  assert.equal(p.position_sector, 3 * 2048);
  const again = JSON.parse(JSON.stringify(p)) as LiveScrubPosition;
  assert.equal(runLiveScrub(g, dev.io, again, hooks()), true);
  assert.equal(again.checked_blocks + again.bad_blocks, 16384 / 8);
  assert.deepEqual(again.bad_ranges, [[9000, 9008]]);
});

test('a restart of the recalculation under the scrub takes back what it had counted as checked', () => {
  const g: LiveScrubGeometry = { total_sectors: 8192, block_sectors: 1, mode: 'J', verifier: 'dm-integrity', chunk_bytes: 1 << 20 };
  let recalc: number | null = null;
  let t = 0;
  const dev = simulated({ total: 8192, bs: 1, recalc: () => recalc });
  const p = fresh(g);
  let n = 0;
  runLiveScrub(
    g,
    dev.io,
    p,
    hooks({
      now: () => t,
      progress: () => {
        t += 300; // the status is read again before the next chunk
        if (++n === 2) recalc = 1000; // reset_recalculate resumed: position 1000
      },
    }),
  );
  // chunk 1 (0..2048) was read before the restart: verified. Chunk 2 (2048..4096) was counted as verified but the
  // next status showed the position back at 1000: it may have been read after the restart, so it moves to unchecked,
  // as do chunks 3 and 4, read past the new position.
  assert.equal(p.checked_blocks, 2048);
  assert.equal(p.unchecked.recalculating, 6144);
});

test('a table reload during the scrub: the counter restarts at 0 and the increase is still summed', () => {
  const g: LiveScrubGeometry = { total_sectors: 4096, block_sectors: 1, mode: 'J', verifier: 'dm-integrity', chunk_bytes: 1 << 20 };
  let counter = 10;
  let t = 0;
  const p = fresh(g);
  let n = 0;
  runLiveScrub(
    g,
    {
      buffer: Buffer.alloc(1 << 20),
      read() {},
      status: () => ({ mismatches: counter, provided_data_sectors: 4096, recalc_sector: null }),
    },
    p,
    hooks({
      now: () => t,
      progress: () => {
        t += 300;
        n++;
        if (n === 1) counter = 12;
        if (n === 2) counter = 1;
      },
    }),
  );
  assert.equal(p.kernel_mismatches.at_start, 10);
  assert.equal(p.kernel_mismatches.increase, 3);
  assert.equal(p.kernel_mismatches.table_loads_seen, 1);
});
