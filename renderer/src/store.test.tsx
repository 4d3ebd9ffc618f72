// The dashboard's store in node: the host's snapshots are the truth (progress adds live positions and rates and
// never a state of its own), rate series restart with each run, commands apply the snapshot they return, events
// are applied in batches; routes round-trip; the bridge speaks the contract's command list.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COMMAND_NAMES, type IntegrityEvent, type Transport } from '../../engine/api.js';
import { createDashboardStore, createEventBatcher, RATE_HISTORY } from './store.js';
import { parseHash, routeHash, type Route } from './lib/routes.js';
import { backoff } from './bridge.js';
import { emptyDamage, prog, verification, vol } from './test-fixtures.js';

test('store: progress events update jobs and rate history, errors events the known damage, never the state the host reported', () => {
  const s = createDashboardStore();
  s.getState().applyEvents([
    { type: 'volume', volume: vol('a', { state: 'recalc-paused', conditions: ['recalc-paused', 'not-checked'] }) },
    { type: 'volume', volume: vol('b') },
  ]);
  assert.deepEqual(s.getState().order, ['a', 'b']);
  s.getState().applyEvents([{ type: 'progress', id: 'a', progress: prog({ position_sector: 16384, bytes_per_second: 5e6, started_at: 't1' }) }], 1000);
  assert.equal(s.getState().volumes.a!.state, 'recalc-paused', 'a progress event does not invent a state');
  assert.equal(s.getState().volumes.a!.jobs.recalc!.position_sector, 16384);
  assert.deepEqual(s.getState().rates.a!.recalc!.samples, [[1000, 5e6]]);
  s.getState().applyEvents([
    { type: 'progress', id: 'a', progress: prog({ job: 'scrub', state: 'done', position_sector: 32768, mismatches: 2, bad_ranges: [[8, 10]] }) },
  ]);
  assert.equal(s.getState().volumes.a!.state, 'recalc-paused');
  // known damage comes with 'errors' events (the host adds what the last finished scrub found where this one has
  // not been yet): a progress event's own count would hide it
  assert.equal(s.getState().volumes.a!.error_count, 0);
  s.getState().applyEvents([
    {
      type: 'errors',
      id: 'a',
      count: 3,
      ranges: [
        [8, 10],
        [20000, 20001],
      ],
      damage: {
        ...emptyDamage(),
        bad_blocks: 3,
        bad_range_count: 2,
        bad_ranges: [
          [8, 10],
          [20000, 20001],
        ],
      },
    },
  ]);
  assert.equal(s.getState().volumes.a!.error_count, 3);
  for (let i = 0; i < RATE_HISTORY + 30; i++)
    s.getState().applyEvents([{ type: 'progress', id: 'a', progress: prog({ bytes_per_second: i + 1, started_at: 't1' }) }], i);
  assert.equal(s.getState().rates.a!.recalc!.samples.length, RATE_HISTORY);
  assert.equal(s.getState().rates.a!.recalc!.samples.at(-1)![1], RATE_HISTORY + 30);
  // a new run (another start) clears the last run's samples
  s.getState().applyEvents([{ type: 'progress', id: 'a', progress: prog({ bytes_per_second: 7, started_at: 't2', start_sector: 100 }) }], 5);
  assert.deepEqual(s.getState().rates.a!.recalc!.samples, [[5, 7]]);
  s.getState().applyEvents([{ type: 'format-progress', id: 'b', done: 10, total: 40 }]);
  assert.deepEqual(s.getState().formatProgress.b, { done: 10, total: 40 });
  s.getState().applyEvents([{ type: 'volume-removed', id: 'b' }]);
  assert.deepEqual(s.getState().order, ['a']);
});

test('store: commands go to the host, a returned snapshot is applied, failures become the message (act) or throw (call)', async () => {
  const calls: Array<[string, unknown[]]> = [];
  // a transport as the bridge is: one invoke by name
  const answers: Record<string, (args: unknown[]) => unknown> = {
    startScrub: () => undefined,
    unlockVolume: () => vol('a', { state: 'clean', conditions: ['clean'], verification: verification({ scrub: 'finished' }) }),
    removeVolume: () => {
      throw new Error('no volume "zz"');
    },
  };
  const api: Transport = {
    invoke: async (cmd, args) => {
      calls.push([cmd, args]);
      return answers[cmd]!(args) as never;
    },
    onEvent: () => () => undefined,
  };
  const s = createDashboardStore(api);
  s.getState().applyEvents([{ type: 'volume', volume: vol('a', { state: 'needs-key', conditions: ['needs-key'] }) }]);
  const p = s.getState().act('startScrub', 'a');
  assert.deepEqual(s.getState().pending, { 'startScrub:a': true });
  await p;
  assert.deepEqual(s.getState().pending, {});
  await s.getState().call('unlockVolume', 'a', { integrityKey: { file: '/k' } });
  assert.deepEqual(calls, [
    ['startScrub', ['a']],
    ['unlockVolume', ['a', { integrityKey: { file: '/k' } }]],
  ]);
  assert.equal(s.getState().volumes.a!.state, 'clean');
  assert.equal(await s.getState().act('removeVolume', 'zz'), undefined);
  assert.equal(s.getState().message, 'no volume "zz"');
  await assert.rejects(s.getState().call('removeVolume', 'zz'), /no volume/);
});

test('store: navigation counts (focus follows it); connection state carries its reason', () => {
  const s = createDashboardStore();
  s.getState().setMessage('x');
  s.getState().navigate({ page: 'volume', id: 'a', panel: 'errors' });
  assert.deepEqual(s.getState().route, { page: 'volume', id: 'a', panel: 'errors' });
  assert.equal(s.getState().navigations, 1);
  assert.equal(s.getState().message, null);
  // the hashchange echo of that navigation is the same view: not a second navigation (focus stays where the user
  // is typing); another address is
  s.getState().setRoute({ page: 'volume', id: 'a', panel: 'errors' });
  assert.equal(s.getState().navigations, 1);
  s.getState().setRoute({ page: 'unlock', id: 'a' });
  assert.equal(s.getState().navigations, 2);
  s.getState().setConnection({ state: 'disconnected', problem: 'forbidden', reason: 'restarted with a new token' });
  assert.equal(s.getState().connection.problem, 'forbidden');
  s.getState().setConnection({ state: 'connected' });
  assert.deepEqual(s.getState().connection, { state: 'connected', problem: 'none', reason: null, retry_at: null });
});

test('event batcher: a burst of events becomes one store update', () => {
  const s = createDashboardStore();
  s.getState().applyEvents([{ type: 'volume', volume: vol('a') }]);
  let updates = 0;
  s.subscribe(() => updates++);
  const tasks: Array<() => void> = [];
  const push = createEventBatcher(
    (evs) => s.getState().applyEvents(evs),
    (fn) => tasks.push(fn),
  );
  for (let i = 1; i <= 500; i++) push({ type: 'progress', id: 'a', progress: prog({ position_sector: i }) } as IntegrityEvent);
  assert.equal(tasks.length, 1);
  assert.equal(updates, 0);
  tasks[0]!();
  assert.equal(updates, 1);
  assert.equal(s.getState().volumes.a!.jobs.recalc!.position_sector, 500);
});

test('routes: every view is an address and back', () => {
  const routes: Route[] = [
    { page: 'list' },
    { page: 'create' },
    { page: 'add' },
    { page: 'volume', id: 'v1' },
    { page: 'volume', id: 'a b/c', panel: 'journal' },
    { page: 'edit', id: 'v1' },
    { page: 'unlock', id: 'v1' },
  ];
  for (const r of routes) assert.deepEqual(parseHash(routeHash(r)), r);
  assert.equal(routeHash({ page: 'volume', id: 'v1', panel: 'errors' }), '#/volume/v1/errors');
  assert.deepEqual(parseHash(''), { page: 'list' });
  assert.deepEqual(parseHash('#/volume/v1/nonsense'), { page: 'list' });
  assert.deepEqual(parseHash('#/nope'), { page: 'list' });
});

test('bridge: a command goes as { id, cmd, args } and its answer (or error with its code) comes back; events reach listeners; backoff grows to a cap', async () => {
  const sent: Array<{ id: number; cmd: string; args: unknown[] }> = [];
  class FakeWs {
    static last: FakeWs;
    onopen?: () => void;
    onclose?: () => void;
    onmessage?: (m: { data: string }) => void;
    constructor() {
      FakeWs.last = this;
      setTimeout(() => this.onopen?.(), 0);
    }
    send(s: string) {
      const f = JSON.parse(s) as { id: number; cmd: string; args: unknown[] };
      sent.push(f);
      const answer =
        f.cmd === 'removeVolume' ? { id: f.id, ok: false, error: 'no volume with id zz', code: 'ENOENT' } : { id: f.id, ok: true, result: { echoed: f.args } };
      setTimeout(() => this.onmessage?.({ data: JSON.stringify(answer) }), 0);
    }
  }
  (globalThis as unknown as { WebSocket: unknown }).WebSocket = FakeWs;
  const { wsBridge } = await import('./bridge.js');
  const states: string[] = [];
  const t = wsBridge('http://127.0.0.1:1', 't', (c) => states.push(c.state));
  await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(states, ['connected']);
  assert.deepEqual(await t.invoke('listErrors', ['v1', { fromSector: 8, limit: 2 }]), { echoed: ['v1', { fromSector: 8, limit: 2 }] });
  assert.deepEqual(sent.at(-1), { id: 1, cmd: 'listErrors', args: ['v1', { fromSector: 8, limit: 2 }] });
  await assert.rejects(t.invoke('removeVolume', ['zz']), (e: Error & { code?: string }) => e.message === 'no volume with id zz' && e.code === 'ENOENT');
  const got: IntegrityEvent[] = [];
  t.onEvent((e) => got.push(e));
  FakeWs.last.onmessage?.({ data: JSON.stringify({ event: { type: 'volume-removed', id: 'v1' } }) });
  assert.deepEqual(got, [{ type: 'volume-removed', id: 'v1' }]);
  assert.ok(COMMAND_NAMES.includes('listErrors'));
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 20].map(backoff), [500, 1000, 2000, 4000, 8000, 15000, 15000, 15000]);
});
