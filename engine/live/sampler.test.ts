import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LiveSampler, PositionRate } from './sampler.js';
import type { LiveSample } from './sample.js';

const TABLE =
  '0 2064392 integrity 254:0 0 4 J 9 recalculate journal_sectors:16368 interleave_sectors:32768 buffer_sectors:128 journal_watermark:50 commit_time:10000 fix_padding fix_hmac internal_hash:crc32c';
const TOTAL = 2064392;
function sample(t: number, over: Partial<LiveSample> & { mismatches?: number; recalc?: number | null } = {}): LiveSample {
  const { mismatches = 0, recalc = null, ...rest } = over;
  return {
    t,
    name: 'rc',
    present: true,
    devno: '253:0',
    uuid: 'CRYPT-INTEGRITY-rc',
    suspended: false,
    open_count: 0,
    event_nr: 0,
    table_line: TABLE,
    status: { mismatches, provided_data_sectors: TOTAL, recalc_sector: recalc },
    ...rest,
  };
}

test('recalculation: rate and ETA from successive positions (the 6.1 guest: 1 GiB sparse, one sample a second)', () => {
  const s = new LiveSampler('rc');
  // positions dmsetup status printed in the 6.1 guest, one second apart
  const seen = [360448, 753664, 1179648, 1540096, 1867776];
  let snap = s.add(sample(0, { recalc: 0 }));
  assert.equal(snap.recalc.state, 'running');
  assert.equal(snap.recalc.eta_ms, null, 'no rate from one sample');
  seen.forEach((p, i) => {
    snap = s.add(sample((i + 1) * 1000, { recalc: p }));
  });
  const sps = 1867776 / 5;
  assert.equal(snap.recalc.bytes_per_second, Math.round(sps * 512));
  assert.equal(snap.recalc.eta_ms, Math.round(((TOTAL - 1867776) / sps) * 1000));
  assert.ok(Math.abs(snap.recalc.percent! - (1867776 / TOTAL) * 100) < 1e-9);
  snap = s.add(sample(6000, { recalc: TOTAL }));
  assert.equal(snap.recalc.state, 'done');
  assert.equal(snap.recalc.eta_ms, 0);
  assert.equal(s.add(sample(7000, { recalc: null })).recalc.state, 'never');
});

test("the persisted position is the superblock's, beside the live one", () => {
  const s = new LiveSampler('rc');
  const sb = {
    version: 5,
    flags: 0x1a,
    flag_names: [],
    provided_data_sectors: TOTAL,
    recalculating: true,
    recalc_sector: 491520,
    dirty_bitmap: false,
    integrity_tag_size: 4,
    log2_sectors_per_block: 0,
    log2_blocks_per_bitmap_bit: 15,
    journal_sections: 1,
    volume_id: 'x',
  };
  const snap = s.add(sample(0, { recalc: 589824, superblock: sb }));
  assert.equal(snap.recalc.position, 589824);
  assert.equal(snap.recalc.persisted_sector, 491520);
});

test('a suspended device shows a suspended recalculation with no rate', () => {
  const s = new LiveSampler('rc');
  s.add(sample(0, { recalc: 1000 }));
  s.add(sample(1000, { recalc: 2000 }));
  const snap = s.add(sample(2000, { recalc: 2000, suspended: true }));
  assert.equal(snap.state, 'suspended');
  assert.equal(snap.recalc.state, 'suspended');
  assert.equal(snap.recalc.eta_ms, null);
  assert.equal(snap.recalc.bytes_per_second, null);
});

test('mismatch total: growth within a table load, a restart at 0 on reload, last grew at', () => {
  const s = new LiveSampler('ja');
  let snap = s.add(sample(0, { mismatches: 2 }));
  assert.deepEqual([snap.mismatches.total, snap.mismatches.at_first_sample, snap.mismatches.last_grew_at], [2, 2, null]);
  snap = s.add(sample(1000, { mismatches: 2 }));
  assert.equal(snap.mismatches.last_grew_at, null);
  snap = s.add(sample(2000, { mismatches: 5 }));
  assert.deepEqual([snap.mismatches.total, snap.mismatches.last_grew_at, snap.event], [5, 2000, null]);
  // the counter went down: a new table (it restarts at 0), whose 1 is new
  snap = s.add(sample(3000, { mismatches: 1 }));
  assert.deepEqual([snap.mismatches.total, snap.mismatches.kernel, snap.mismatches.table_loads_seen, snap.event], [6, 1, 1, 'reloaded']);
  // a changed table line is a reload even when the counter did not go down
  snap = s.add(sample(4000, { mismatches: 3, table_line: TABLE.replace('J 9 recalculate', 'J 10 recalculate allow_discards') }));
  assert.deepEqual([snap.mismatches.total, snap.mismatches.table_loads_seen, snap.event], [9, 2, 'reloaded']);
  // our own reload, announced: the next counter is all new
  s.markReload();
  snap = s.add(sample(5000, { mismatches: 3, table_line: TABLE.replace('J 9 recalculate', 'J 10 recalculate allow_discards') }));
  assert.deepEqual([snap.mismatches.total, snap.mismatches.table_loads_seen], [12, 3]);
});

test('a device that disappears shows no figures, and its history comes back with it', () => {
  const s = new LiveSampler('ja');
  s.add(sample(0, { mismatches: 4, recalc: 100 }));
  let snap = s.add({ t: 1000, name: 'ja', present: false });
  assert.equal(snap.state, 'gone');
  assert.equal(snap.event, 'disappeared');
  assert.equal(snap.mismatches.kernel, null);
  assert.equal(snap.recalc.position, null);
  assert.equal(snap.provided_data_sectors, null);
  assert.equal(snap.mismatches.total, 4);
  snap = s.add(sample(2000, { mismatches: 1, recalc: 200 }));
  assert.equal(snap.event, 'appeared');
  assert.equal(snap.mismatches.total, 5);
});

test('reset_recalculate: the position going back is a restart, the rate starts over', () => {
  const s = new LiveSampler('rc');
  s.add(sample(0, { recalc: 1_000_000 }));
  s.add(sample(1000, { recalc: 1_400_000 }));
  let snap = s.add(sample(2000, { recalc: 65536 }));
  assert.equal(snap.recalc.restarted_at, 2000);
  assert.equal(snap.event, 'reloaded');
  assert.equal(snap.recalc.bytes_per_second, null, 'no rate across the restart');
  snap = s.add(sample(3000, { recalc: 458752 }));
  assert.equal(snap.recalc.bytes_per_second, (458752 - 65536) * 512);
});

test('PositionRate keeps a window', () => {
  const r = new PositionRate(2000);
  r.add(0, 0);
  r.add(1000, 1000);
  r.add(2000, 2000);
  r.add(3000, 5000);
  r.add(4000, 8000);
  assert.equal(r.sectorsPerSecond(), 3000, 'only the last 2 s count');
});
