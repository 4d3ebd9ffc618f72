// The dashboard's store and components in node: events applied in batches, form limits and the equivalent
// integritysetup command, and the rendered volume page (progress bars, error count, ranges, sector map).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderToStaticMarkup } from 'react-dom/server';
import { createDashboardStore, createEventBatcher, percent, RATE_HISTORY } from './store.js';
import { DEFAULT_FORM, formatCommand, toRequest, validateForm } from './form.js';
import { SectorMap, VolumeList, VolumePage, RateChart, CreateVolumeForm } from './components.js';
import type { IntegrityApi, IntegrityEvent, JobProgress, VolumeSnapshot } from '../../engine/api.js';

function vol(id: string, over: Partial<VolumeSnapshot> = {}): VolumeSnapshot {
  return {
    id, name: `vol-${id}`, path: `/tmp/${id}.img`, data_device: null, size_bytes: 16 << 20, algorithm: 'crc32c', mode: 'journal', state: 'clean',
    error_count: 0, bad_ranges: [], journal: null, jobs: {}, keys: { integrity: false, journalIntegrity: false, journalCrypt: false },
    superblock: { version: 5, flags: ['fix_padding', 'fix_hmac'], integrity_tag_size: 4, journal_sections: 1, provided_data_sectors: 32768, log2_interleave_sectors: 15, log2_sectors_per_block: 0, log2_blocks_per_bitmap_bit: 15, recalc_sector: null },
    geometry: { block_size: 512, tag_size: 4, initial_sectors: 184, metadata_run: 256, journal_section_sectors: 176, journal_entries: 16, meta_dev: false },
    open_command: 'integritysetup open x', dm_table: '0 32768 integrity x 0 4 J 1 internal_hash:crc32c', error: null, ...over,
  };
}
const prog = (o: Partial<JobProgress>): JobProgress => ({ job: 'recalc', state: 'running', position_sector: 0, total_sectors: 32768, start_sector: 0, sectors_per_block: 1, bytes_per_second: 0, eta_ms: null, mismatches: 0, bad_ranges: [], journal: null, ...o });

test('store: volume, progress, errors and removal events update volumes, state and rate history', () => {
  const s = createDashboardStore();
  s.getState().applyEvents([{ type: 'volume', volume: vol('a') }, { type: 'volume', volume: vol('b') }]);
  assert.deepEqual(s.getState().order, ['a', 'b']);
  s.getState().navigate({ page: 'volume', id: 'b' });
  s.getState().applyEvents([{ type: 'progress', id: 'a', progress: prog({ position_sector: 16384, bytes_per_second: 5e6 }) }], 1000);
  assert.equal(s.getState().volumes.a!.state, 'recalculating');
  assert.equal(percent(s.getState().volumes.a!.jobs.recalc), 50);
  assert.deepEqual(s.getState().rates.a!.recalc, [[1000, 5e6]]);
  s.getState().applyEvents([{ type: 'progress', id: 'a', progress: prog({ state: 'paused', position_sector: 20000 }) }]);
  assert.equal(s.getState().volumes.a!.state, 'paused');
  s.getState().applyEvents([{ type: 'progress', id: 'a', progress: prog({ job: 'scrub', state: 'done', position_sector: 32768, mismatches: 2, bad_ranges: [[8, 10]] }) }]);
  assert.equal(s.getState().volumes.a!.state, 'errors');
  assert.equal(s.getState().volumes.a!.error_count, 2);
  for (let i = 0; i < RATE_HISTORY + 30; i++) s.getState().applyEvents([{ type: 'progress', id: 'a', progress: prog({ bytes_per_second: i + 1 }) }], i);
  assert.equal(s.getState().rates.a!.recalc!.length, RATE_HISTORY);
  assert.equal(s.getState().rates.a!.recalc!.at(-1)![1], RATE_HISTORY + 30);
  s.getState().applyEvents([{ type: 'format-progress', id: 'b', done: 10, total: 40 }]);
  assert.deepEqual(s.getState().formatProgress.b, { done: 10, total: 40 });
  s.getState().applyEvents([{ type: 'volume-removed', id: 'b' }]);
  assert.deepEqual(s.getState().order, ['a']);
  assert.deepEqual(s.getState().view, { page: 'list' });
});

test('event batcher: a burst of events becomes one store update', () => {
  const s = createDashboardStore();
  s.getState().applyEvents([{ type: 'volume', volume: vol('a') }]);
  let updates = 0;
  s.subscribe(() => updates++);
  const tasks: Array<() => void> = [];
  const push = createEventBatcher((evs) => s.getState().applyEvents(evs), (fn) => tasks.push(fn));
  for (let i = 1; i <= 500; i++) push({ type: 'progress', id: 'a', progress: prog({ position_sector: i }) } as IntegrityEvent);
  assert.equal(tasks.length, 1);
  assert.equal(updates, 0);
  tasks[0]!();
  assert.equal(updates, 1);
  assert.equal(s.getState().volumes.a!.jobs.recalc!.position_sector, 500);
});

test('form: kernel limits checked before submit; the equivalent integritysetup command', () => {
  assert.deepEqual(Object.keys(validateForm({ ...DEFAULT_FORM, path: '/x.img' })), []);
  const bad = validateForm({ ...DEFAULT_FORM, path: '', tagSize: '300', sectorSize: '1000', interleaveSectors: '12', integrity: 'hmac-sha256', integrityRecalculate: true });
  assert.match(bad.path!, /required/);
  assert.match(bad.tagSize!, /1 to 255/);
  assert.match(bad.sectorSize!, /power of two/);
  assert.match(bad.interleaveSectors!, /power of two from 8/);
  assert.match(bad.integrityKeyHex!, /needs a key/);
  assert.match(bad.integrityRecalculate!, /No wipe/);
  const f = { ...DEFAULT_FORM, path: '/tmp/my vol.img', sizeMiB: '16', integrity: 'hmac-sha256', integrityKeyHex: 'ab'.repeat(32), sectorSize: '4096', noWipe: true, integrityRecalculate: true, mode: 'bitmap' as const };
  assert.equal(formatCommand(f), "integritysetup format '/tmp/my vol.img' --integrity hmac-sha256 --integrity-key-file KEYFILE --integrity-key-size 32 --sector-size 4096 --no-wipe --integrity-recalculate --integrity-bitmap-mode");
  assert.doesNotMatch(formatCommand(f), /abab/);
  const r = toRequest(f);
  assert.equal(r.size, 16 << 20);
  assert.equal(r.sectorSize, 4096);
  assert.equal(r.integrityKeyHex, 'ab'.repeat(32));
});

test('components: volume list and page render state, progress bars, error count, ranges and sector map', () => {
  const v = vol('a', {
    state: 'errors', error_count: 3, bad_ranges: [[100, 108], [4000, 4001]],
    superblock: { ...vol('a').superblock!, recalc_sector: 8192, flags: ['recalculating', 'fix_padding', 'fix_hmac'] },
    jobs: { recalc: prog({ state: 'paused', position_sector: 8192 }), scrub: prog({ job: 'scrub', state: 'done', position_sector: 32768, mismatches: 3 }) },
  });
  const list = renderToStaticMarkup(<VolumeList d={{ volumes: { a: v }, order: ['a'] }} onOpen={() => {}} onCreate={() => {}} />);
  assert.match(list, /vol-a/);
  assert.match(list, /16\.0 MiB/);
  assert.match(list, /badge-errors/);
  const api = {} as IntegrityApi;
  const page = renderToStaticMarkup(<VolumePage v={v} api={api} rates={undefined} onBack={() => {}} onError={() => {}} />);
  assert.match(page, /role="progressbar" aria-label="Recalculation progress" aria-valuemin="0" aria-valuemax="100" aria-valuenow="25"/);
  assert.match(page, /aria-label="Scrub progress"[^>]*aria-valuenow="100"/);
  assert.match(page, /<button>Resume recalculation<\/button>/);
  assert.match(page, /<button disabled="">Pause recalculation<\/button>/);
  assert.match(page, /Integrity errors<\/span>: <strong[^>]*>3</);
  assert.match(page, /sectors 100–107/);
  assert.match(page, /sectors 4000–4000/);
  assert.match(page, /integritysetup open x/);
  const fresh = renderToStaticMarkup(<VolumePage v={vol('b')} api={api} rates={undefined} onBack={() => {}} onError={() => {}} />);
  assert.match(fresh, /<button disabled="">Start recalculation<\/button>/);
  assert.match(fresh, /Not recalculating/);
  assert.match(fresh, /<button>Start scrub<\/button>/);
  const map = renderToStaticMarkup(<SectorMap total={64} done={16} bad={[[40, 41]]} cells={8} />);
  assert.deepEqual([...map.matchAll(/class="cell (\w+)"/g)].map((m) => m[1]), ['done', 'done', 'pending', 'pending', 'pending', 'bad', 'pending', 'pending']);
  const chart = renderToStaticMarkup(<RateChart samples={[[0, 1], [10, 2], [20, 1]]} label="r" />);
  assert.match(chart, /points="0\.0,[\d.]+ 150\.0,4\.0 300\.0,[\d.]+"/);
  const form = renderToStaticMarkup(<CreateVolumeForm algorithms={['crc32c', 'sha256']} onSubmit={async () => {}} progress={{ done: 10, total: 40 }} />);
  assert.match(form, /aria-label="Wipe progress"[^>]*aria-valuenow="25"/);
  for (const label of ['Image path', 'Integrity algorithm', 'Tag size', 'Sector size', 'Journal size', 'Interleave sectors', 'Buffer sectors', 'Separate data device', 'Mode', 'Journal integrity', 'Journal encryption', 'No wipe', 'Recalculate tags', 'Legacy padding', 'Legacy HMAC']) assert.match(form, new RegExp(label));
  assert.match(form, /integritysetup format IMAGE --integrity crc32c/);
});
