// The host's live part with a fake LiveBackend: leases, bounded events, the confirmation flow, refusals in the
// owner's words, keys from held key files reaching the activation and nothing else, and an unavailable host.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { EngineHost } from '../engine-host.js';
import type { IntegrityEvent, LiveAvailability } from '../../engine/api.js';
import { DAMAGE_FIRST_RANGES, LIVE_KERNEL_MESSAGES } from '../../engine/api.js';
import { dispatch } from '../dispatch.js';
import { FakeLiveBackend } from '../../testing/fake-live-backend.js';
import { assertNoSecret } from '../../testing/secrets.js';
import { mkVolume } from '../../testing/mkvolume.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function withHost(
  fn: (h: EngineHost, b: FakeLiveBackend, events: IntegrityEvent[], dir: string) => Promise<void>,
  o: { backend?: FakeLiveBackend; leaseMs?: number; periodMs?: number } = {},
) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'is-live-host-'));
  const b = o.backend ?? new FakeLiveBackend();
  const h = await EngineHost.create({
    dataDir: dir,
    pollMs: 0,
    autoMapDamage: false,
    startJob: null,
    throttleMs: 0,
    liveBackend: b,
    live: { leaseMs: o.leaseMs ?? 300, periodMs: o.periodMs ?? 50 },
  });
  const events: IntegrityEvent[] = [];
  h.onEvent((e) => events.push(e));
  try {
    await fn(h, b, events, dir);
  } finally {
    await h.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('liveVolumes lists the kernel devices, keyless, with the availability', async () => {
  await withHost(async (h) => {
    const o = await h.liveVolumes();
    assert.equal(o.availability.available, true);
    assert.deepEqual(
      o.volumes.map((v) => v.name),
      ['data', 'quiet', 'vault_dif'],
    );
    const data = o.volumes.find((v) => v.name === 'data')!;
    assert.equal(data.owner.kind, 'integritysetup');
    assert.equal(data.table.options.recalculate, true);
    assert.equal(data.mounts[0]!.mount_point, '/srv/data');
    assert.equal(o.error, null);
  });
});

test('a watch samples about every period while renewed, emits live snapshots with a rate, and stops when its lease runs out', async () => {
  await withHost(async (h, b, events) => {
    const w = (await dispatch(h, 'watchLive', ['data'])) as { snapshot: { recalc: { state: string } }; lease_ms: number };
    assert.equal(w.lease_ms, 300);
    assert.equal(w.snapshot.recalc.state, 'running');
    for (let i = 0; i < 4; i++) {
      await sleep(120);
      await h.watchLive('data');
    }
    const live = events.filter((e) => e.type === 'live' && e.name === 'data');
    assert.ok(live.length >= 5, `only ${live.length} live events while the watch was renewed`);
    const last = live.at(-1)!;
    assert.ok(
      last.type === 'live' && last.snapshot.recalc.bytes_per_second !== null && last.snapshot.recalc.bytes_per_second > 0,
      'a rate once two samples span some time',
    );
    assert.deepEqual(h.liveWatched(), ['data']);
    // no renewal: the lease (300 ms) runs out and sampling stops
    await sleep(500);
    assert.deepEqual(h.liveWatched(), []);
    const calls = b.statusCalls.length;
    await sleep(300);
    assert.equal(b.statusCalls.length, calls, 'status is no longer read once the lease ran out');
  });
});

test('live scrub events are bounded: 100 000 bad ranges give at most DAMAGE_FIRST_RANGES of each kind and < 64 KiB', async () => {
  const backend = new FakeLiveBackend({ scrubBadRanges: 100_000, scrubTickMs: 20, scrubRate: 1 << 20 });
  await withHost(
    async (h, _b, events) => {
      const first = await h.startLiveScrub('data', {});
      assert.equal(first.state, 'running');
      await sleep(200);
      await h.pauseLiveScrub('data').catch(() => undefined);
      const scrubs = events.filter((e): e is Extract<IntegrityEvent, { type: 'live-scrub' }> => e.type === 'live-scrub');
      const big = scrubs.filter((e) => e.progress.bad_range_count === 100_000);
      assert.ok(big.length > 0, 'an event after the scripted bad ranges');
      for (const e of scrubs) {
        const bytes = Buffer.byteLength(JSON.stringify(e));
        assert.ok(bytes < 64 * 1024, `a live-scrub event of ${bytes} bytes`);
        assert.ok(e.progress.bad_ranges.length <= DAMAGE_FIRST_RANGES);
        assert.ok(e.progress.kernel_messages.length <= LIVE_KERNEL_MESSAGES);
      }
      const e = big.at(-1)!;
      assert.equal(e.progress.bad_ranges.length, DAMAGE_FIRST_RANGES);
      assert.equal(e.progress.kernel_message_count, 500);
      const answer = await h.liveScrubProgress('data');
      assert.ok(answer && Buffer.byteLength(JSON.stringify(answer)) < 64 * 1024);
    },
    { backend },
  );
});

test("what a live scrub's bad blocks hold: refused before any are known, mapped once per findings, paged, kept", async () => {
  const backend = new FakeLiveBackend({ scrubTickMs: 20, scrubRate: 1 << 20 });
  await withHost(
    async (h, b) => {
      await assert.rejects(dispatch(h, 'mapLiveDamage', ['data', {}]), /no live scrub of data has run here/);
      await h.startLiveScrub('data', {});
      for (let i = 0; i < 100 && (await h.liveScrubProgress('data'))?.bad_blocks !== 1; i++) await sleep(20);
      await h.pauseLiveScrub('data').catch(() => undefined);
      const page = (await dispatch(h, 'mapLiveDamage', ['data', { limit: 10 }])) as import('../../engine/api.js').LiveDamageMapPage;
      assert.equal(page.device, '/dev/mapper/data');
      assert.equal(page.result.fs, 'ext4');
      assert.match(page.result.may_be_stale ?? '', /mounted/);
      assert.equal(page.total_items, 1);
      const f = page.items[0]!;
      assert.ok(f.kind === 'file');
      assert.deepEqual(f.paths, ['/photos/2026/img_0412.jpg']);
      assert.equal(b.mapCalls, 1);
      // the same findings: the kept mapping answers (a kind filter too), nothing read again
      const files = await h.mapLiveDamage('data', { kind: 'file', offset: 0 });
      assert.equal(files.items.length, 1);
      assert.equal((await h.mapLiveDamage('data', { kind: 'free' })).total_items, 0);
      assert.equal(b.mapCalls, 1);
      await h.mapLiveDamage('data', { refresh: true });
      assert.equal(b.mapCalls, 2, 'refresh maps again');
      await assert.rejects(dispatch(h, 'mapLiveDamage', ['data', { limit: 500 }]), /limit must be 1 to 200/);
    },
    { backend },
  );
});

test('a control that stops I/O of a device in use asks first (ECONFIRM with the question) and runs only when confirmed', async () => {
  await withHost(async (h, b) => {
    const plan = await h.planLive({ action: 'suspend', name: 'data' });
    assert.match(plan.confirm ?? '', /in use .*\/srv\/data/);
    assert.deepEqual(plan.commands, ['dmsetup suspend data']);
    assert.match(plan.cost, /All I\/O to the device blocks/);
    await assert.rejects(
      dispatch(h, 'controlLive', [{ action: 'suspend', name: 'data' }]),
      (e: Error & { code?: string }) => e.code === 'ECONFIRM' && /Continue\?/.test(e.message),
    );
    assert.deepEqual(b.ran, [], 'nothing ran before the confirmation');
    const r = await h.controlLive({ action: 'suspend', name: 'data', confirm: true });
    assert.equal(r.plan.action, 'suspend');
    assert.deepEqual(b.ran, [{ action: 'suspend', name: 'data' }]);
    assert.equal((await h.liveVolumes()).volumes.find((v) => v.name === 'data')!.suspended, true);
  });
});

test("a device another tool owns is refused in that tool's words (LUKS2 _dif: cryptsetup)", async () => {
  await withHost(async (h, b) => {
    const plan = await h.planLive({ action: 'deactivate', name: 'vault_dif' });
    assert.match(plan.refused ?? '', /cryptsetup/);
    await assert.rejects(
      h.controlLive({ action: 'deactivate', name: 'vault_dif', confirm: true }),
      (e: Error & { code?: string }) => e.code === 'EREFUSED' && e.message === plan.refused,
    );
    assert.deepEqual(b.ran, []);
    const log = await h.liveKernelLog('vault_dif');
    assert.equal(log.total, 3);
    assert.match(log.messages[0]!.text, /INTEGRITY AEAD ERROR/);
  });
});

test('activation of a listed volume: the held keys reach the ActivateSpec, never a plan, an answer or an event', async () => {
  await withHost(async (h, b, events, dir) => {
    const img = path.join(dir, 'keyed.img');
    const key = crypto.randomBytes(32);
    const keyFile = path.join(dir, 'key.bin');
    fs.writeFileSync(keyFile, key);
    mkVolume(img, { sizeBytes: 4 << 20, tagSize: 32, integrity: 'hmac-sha256', integrityKey: key });
    const v = await h.addVolume({ path: img, name: 'keyed', integrity: 'hmac-sha256', integrityKey: { file: keyFile } });
    const plan = await h.planLive({ action: 'activate', volumeId: v.id, recalculate: true });
    assert.match(
      plan.commands[0]!,
      /^integritysetup open .*keyed\.img keyed .*--integrity hmac-sha256 --integrity-key-file INTEGRITY_KEY_FILE --integrity-key-size 32 .*--integrity-recalculate/,
    );
    const r = await dispatch(h, 'controlLive', [{ action: 'activate', volumeId: v.id }]);
    assert.equal(b.activations.length, 1);
    const spec = b.activations[0]!;
    assert.equal(spec.name, 'keyed');
    assert.equal(spec.device, img);
    assert.ok(spec.integrityKey && 'bytes' in spec.integrityKey && Buffer.from(spec.integrityKey.bytes).equals(key), 'the held key reached the spec');
    // active in the kernel (the fake attaches the image to a loop device): the app's engine refuses to open it
    assert.throws(
      () => h.startScrub(v.id),
      (e: Error & { code?: string }) => e.code === 'EBUSY' && /active in the kernel as \/dev\/mapper\/keyed/.test(e.message),
    );
    // one list: the volume's snapshot says so (as of the listing), and the dashboard was sent it
    const snap = h.listVolumes().find((x) => x.id === v.id)!;
    assert.equal(snap.kernel?.name, 'keyed');
    assert.ok(snap.kernel && Date.parse(snap.kernel.listed_at) > 0);
    assert.ok(
      events.some((e) => e.type === 'volume' && e.volume.id === v.id && e.volume.kernel?.name === 'keyed'),
      'a volume event says it is active in the kernel',
    );
    assert.equal(v.kernel, null, 'before the activation it was not');
    await h.watchLive('keyed');
    const out = JSON.stringify({ plan, r, events, list: await h.liveVolumes(), vols: h.listVolumes() });
    assertNoSecret(out, key, 'integrity key', 'the plan, answers and events');
  });
});

test('an unavailable host says why, in liveVolumes and in every live command', async () => {
  const reason = 'This kernel has no device-mapper (dm_mod is neither loaded nor installed as a module): use a kernel built with CONFIG_BLK_DEV_DM.';
  const unavailable: LiveAvailability = {
    available: false,
    via: null,
    reason,
    tools: { dmsetup: null, integritysetup: null, cryptsetup: null, pkexec: null },
    dm_integrity: 'unknown',
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'is-live-host-'));
  const h = await EngineHost.create({ dataDir: dir, pollMs: 0, autoMapDamage: false, startJob: null, live: { probe: () => unavailable } });
  try {
    const o = await h.liveVolumes();
    assert.equal(o.availability.available, false);
    assert.equal(o.availability.reason, reason);
    assert.deepEqual(o.volumes, []);
    for (const [cmd, args] of [
      ['watchLive', ['data']],
      ['planLive', [{ action: 'suspend', name: 'data' }]],
      ['controlLive', [{ action: 'resume', name: 'data' }]],
      ['startLiveScrub', ['data', {}]],
      ['pauseLiveScrub', ['data']],
      ['liveKernelLog', ['data']],
    ] as const) {
      await assert.rejects(dispatch(h, cmd, args), (e: Error & { code?: string }) => e.code === 'EUNSUPPORTED' && e.message.includes(reason), cmd);
    }
  } finally {
    await h.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('live command arguments are validated by the contract (names, actions)', async () => {
  await withHost(async (h) => {
    await assert.rejects(dispatch(h, 'controlLive', [{ action: 'pause', name: 'data' }]), /action must be/);
    await assert.rejects(dispatch(h, 'watchLive', ['bad name!']), /not a device-mapper name/);
    await assert.rejects(dispatch(h, 'controlLive', [{ action: 'activate' }]), /volumeId/);
  });
});
