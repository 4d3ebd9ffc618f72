// `integrity-studio live` with the fake backend: the list, a watched status, a scrub's exit code, and an
// unavailable machine's reason.
import test from 'node:test';
import assert from 'node:assert/strict';
import { cmdLive } from './live.js';
import { main } from './main.js';
import { FakeLiveBackend } from '../testing/fake-live-backend.js';
import type { LiveAvailability } from '../engine/api.js';

function io() {
  const o = { out: '', err: '' };
  return {
    o,
    io: {
      out: (s: string) => {
        o.out += s;
      },
      err: (s: string) => {
        o.err += s;
      },
      stdout: process.stdout,
    },
  };
}

test('live list: every device with owner, mode, where used and the recalculation; --json the overview', async () => {
  const a = io();
  assert.equal(await cmdLive({ values: {}, positionals: ['list'] }, a.io, { backend: new FakeLiveBackend() }), 0);
  assert.match(a.o.out, /^NAME +OWNER/);
  assert.match(a.o.out, /data +integritysetup +J +2\.0 GiB +\/srv\/data +active +running \d/);
  assert.match(a.o.out, /vault_dif +cryptsetup \(LUKS2 vault\)/);
  const b = io();
  await cmdLive({ values: { json: true }, positionals: [] }, b.io, { backend: new FakeLiveBackend() });
  const j = JSON.parse(b.o.out);
  assert.deepEqual(
    j.volumes.map((v: { name: string }) => v.name),
    ['data', 'quiet', 'vault_dif'],
  );
});

test('live status NAME --watch --count 2: two samples, the second with a rate', async () => {
  const a = io();
  assert.equal(
    await cmdLive({ values: { watch: true, count: '2' }, positionals: ['status', 'data'] }, a.io, { backend: new FakeLiveBackend({ rate: 100_000 }) }),
    0,
  );
  const lines = a.o.out.trim().split('\n');
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, /^data: active, recalculation running at sector \d+ of 4194304 .*rate: measuring/);
  assert.match(lines[1]!, /\/s, ETA \d+ s/);
});

test('live scrub NAME: runs to the end and exits 4 when it found a bad block', async () => {
  const a = io();
  const code = await cmdLive({ values: {}, positionals: ['scrub', 'quiet'] }, a.io, { backend: new FakeLiveBackend({ scrubRate: 1 << 20, scrubTickMs: 10 }) });
  assert.equal(code, 4);
  assert.match(a.o.out, /quiet: done 100\.0%.*1 bad block/);
});

test('live on a machine without device-mapper says why (exit 1)', async () => {
  const reason = 'This kernel has no device-mapper (dm_mod is neither loaded nor installed as a module).';
  const probe = (): LiveAvailability => ({
    available: false,
    via: null,
    reason,
    tools: { dmsetup: null, integritysetup: null, cryptsetup: null, pkexec: null },
    dm_integrity: 'unknown',
  });
  await assert.rejects(
    cmdLive({ values: {}, positionals: ['list'] }, io().io, { probe }),
    (e: Error & { code?: string }) => e.code === 'EUNSUPPORTED' && e.message.includes(reason),
  );
  const a = io();
  assert.equal(await main(['live', 'bogus', 'x'], a.io), 2);
  assert.match(a.o.err, /unknown subcommand "bogus"/);
  const h = io();
  assert.equal(await main(['live', '--help'], h.io), 0);
  assert.match(h.o.out, /status NAME \[--watch\]/);
});
