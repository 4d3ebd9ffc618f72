// The live pages' pure pieces and their rendering: routes, the store's live events (a restart or a device gone
// starts a new rate series), the words (never "pause" for the kernel's recalculation), and the unavailable panel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderToStaticMarkup } from 'react-dom/server';
import type { LiveSnapshot } from '../../../engine/api.js';
import { parseHash, routeHash } from '../lib/routes.js';
import { createDashboardStore } from '../store.js';
import { CONTROL_LABELS, NO_PAUSE, etaWords, rateWords, recalcFromStatus } from './live-words.js';
import { UnavailablePanel } from './UnavailablePanel.js';

const snap = (t: number, position: number, bps: number | null, event: LiveSnapshot['event'] = null): LiveSnapshot => ({
  name: 'data',
  t,
  state: 'active',
  event,
  table_line: 'x',
  mismatches: { kernel: 0, total: 0, at_first_sample: 0, last_grew_at: null, table_loads_seen: 0, since: 0 },
  provided_data_sectors: 1000,
  recalc: {
    state: 'running',
    position,
    total: 1000,
    percent: position / 10,
    bytes_per_second: bps,
    eta_ms: bps ? 5000 : null,
    persisted_sector: 0,
    restarted_at: null,
  },
});

test('live routes survive a reload (#/live, #/live/NAME with dm name characters)', () => {
  assert.deepEqual(parseHash('#/live'), { page: 'live' });
  assert.deepEqual(parseHash(routeHash({ page: 'live-device', name: 'vg-lv_rimage_0' })), { page: 'live-device', name: 'vg-lv_rimage_0' });
  assert.deepEqual(parseHash(routeHash({ page: 'live-device', name: 'a#b:c=d@e' })), { page: 'live-device', name: 'a#b:c=d@e' });
});

test('live events: the latest snapshot per device, a rate series that a reload of the table starts again', () => {
  const s = createDashboardStore();
  s.getState().applyEvents([
    { type: 'live', name: 'data', snapshot: snap(1, 10, null) },
    { type: 'live', name: 'data', snapshot: snap(2, 20, 5120) },
    { type: 'live', name: 'data', snapshot: snap(3, 30, 5120) },
  ]);
  assert.equal(s.getState().liveSnapshots.data!.recalc.position, 30);
  assert.equal(s.getState().liveRates.data!.length, 2);
  s.getState().applyEvents([{ type: 'live', name: 'data', snapshot: snap(4, 0, null, 'reloaded') }]);
  assert.deepEqual(s.getState().liveRates.data, []);
});

test('words: the recalculation is never said to pause; rate and ETA only while it runs', () => {
  for (const l of Object.values(CONTROL_LABELS)) assert.doesNotMatch(l, /pause/i);
  assert.match(NO_PAUSE, /no pause/);
  assert.equal(rateWords(snap(1, 10, null)), 'measuring…');
  assert.equal(etaWords(snap(1, 10, 5120)), '5 s');
  assert.equal(
    recalcFromStatus({ status: { mismatches: 0, provided_data_sectors: 1000, recalc_sector: 500 }, suspended: true }),
    'recalculation stopped while suspended: 50%',
  );
  assert.equal(recalcFromStatus({ status: { mismatches: 0, provided_data_sectors: 1000, recalc_sector: null }, suspended: false }), 'not recalculating');
});

test('the unavailable panel says why and what to do', () => {
  const html = renderToStaticMarkup(
    <UnavailablePanel
      a={{
        available: false,
        via: null,
        reason: 'This kernel has no device-mapper.',
        tools: { dmsetup: null, integritysetup: null, cryptsetup: null, pkexec: null },
        dm_integrity: 'unknown',
      }}
    />,
  );
  assert.match(html, /Kernel devices are not available here/);
  assert.match(html, /This kernel has no device-mapper\./);
  assert.match(html, /serve<\/code> as root/);
});
