// The engine host with LUKS2 authenticated volumes (kernel-made golden images, engine/crypt/testdata): added locked
// (detected by the header), a wrong passphrase refused with cryptsetup's words, the crypt scrub as a worker-thread
// job (pause/resume with its position persisted, the kernel's failing sectors), created from a request, and the
// passphrase and volume key never in events, snapshots or the saved volume list; locked again after a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { PROJECT_ROOT } from '../../testing/golden.js';
import { startJob } from '../../engine/jobs/index.js';
import type { IntegrityEvent, VolumeSnapshot } from '../../engine/api.js';
import { NO_KEY_MESSAGE } from '../../engine/luks/index.js';
import { dispatch } from '../dispatch.js';
import { EngineHost } from '../engine-host.js';

const TESTDATA = path.join(PROJECT_ROOT, 'testing', 'data', 'crypt');
interface Golden {
  name: string;
  file: string;
  passphrase: string;
  volume_key_hex: string;
  mapped_sectors: number;
  kernel_aead_error_sectors?: number[];
  flip_bytes?: Array<[number, number]>;
}
const manifest: Golden[] = JSON.parse(fs.readFileSync(path.join(TESTDATA, 'manifest.json'), 'utf8')).images;
const golden = (n: string) => manifest.find((g) => g.name === n)!;

function unpack(g: Golden, dir: string): string {
  const p = path.join(dir, `${g.name}.img`);
  const raw = zlib.gunzipSync(fs.readFileSync(path.join(TESTDATA, g.file)));
  for (const [pos, x] of g.flip_bytes ?? []) raw[pos]! ^= x;
  fs.writeFileSync(p, raw);
  return p;
}

function scratch(): string {
  fs.mkdirSync(path.join(PROJECT_ROOT, '.tmp'), { recursive: true });
  return fs.mkdtempSync(path.join(PROJECT_ROOT, '.tmp', 'luks-host-'));
}

async function until(host: EngineHost, id: string, ok: (v: VolumeSnapshot) => boolean, ms = 30_000): Promise<VolumeSnapshot> {
  const t0 = Date.now();
  for (;;) {
    const v = host.listVolumes().find((x) => x.id === id)!;
    if (ok(v)) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out; state ${v.state} ${JSON.stringify(v.verification)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("LUKS2: added locked with the header shown, wrong passphrase refused in cryptsetup words, scrub lists the kernel's failing sectors, keys never leave", async () => {
  const dir = scratch();
  const g = golden('corrupt-xts-hmac256-512');
  const img = unpack(g, dir);
  const dataDir = path.join(dir, 'data');
  const events: IntegrityEvent[] = [];
  const host = await EngineHost.create({ dataDir, pollMs: 0, throttleMs: 0 });
  host.onEvent((e) => events.push(e));
  try {
    const added = (await dispatch(host, 'addVolume', [{ path: img }])) as VolumeSnapshot;
    assert.equal(added.state, 'locked');
    assert.equal(added.luks?.locked, true);
    assert.equal(added.luks?.cipher, 'aes-xts-random');
    assert.equal(added.luks?.integrity, 'hmac(sha256)');
    assert.equal(added.luks?.sector_size, 512);
    assert.equal(added.luks?.keyslots[0]?.kdf, 'pbkdf2');
    assert.equal(added.luks?.keyslots[0]?.iterations, 1000);
    assert.match(added.luks!.dump, /^LUKS header information/);
    assert.equal(added.size_bytes, g.mapped_sectors * 512);
    assert.equal(added.verification.scrub, 'none');
    await assert.rejects(dispatch(host, 'startScrub', [added.id]), /Unlock it with its passphrase/);
    await assert.rejects(dispatch(host, 'unlockVolume', [added.id, { luksSecret: { passphrase: 'not-it' } }]), (e: Error) => e.message === NO_KEY_MESSAGE);
    const unlocked = (await dispatch(host, 'unlockVolume', [added.id, { luksSecret: { passphrase: g.passphrase } }])) as VolumeSnapshot;
    assert.equal(unlocked.state, 'not-checked');
    assert.equal(unlocked.luks?.locked, false);
    await assert.rejects(dispatch(host, 'startRecalc', [added.id]), /no internal hash to recalculate/);
    const before = fs.readFileSync(img);
    await dispatch(host, 'startScrub', [added.id]);
    const v = await until(host, added.id, (x) => x.verification.scrub === 'finished');
    assert.deepEqual(v.bad_ranges, [
      [100, 101],
      [300, 302],
    ]);
    assert.deepEqual(g.kernel_aead_error_sectors, [100, 300, 301]);
    assert.equal(v.verification.bad_blocks, 3);
    assert.equal(v.verification.checked_blocks, g.mapped_sectors);
    assert.equal(v.verification.unchecked_blocks, 0);
    assert.equal(v.state, 'errors');
    assert.equal(v.runs.at(-1)?.result, 'done');
    assert.equal(v.runs.at(-1)?.by, 'dashboard');
    assert.ok(fs.readFileSync(img).equals(before), 'the scrub wrote nothing to the image');
    // nothing the host sent or saved holds the passphrase or the volume key
    const sent = JSON.stringify(events) + JSON.stringify(host.listVolumes());
    const saved =
      fs
        .readdirSync(dataDir)
        .map((f) => fs.readFileSync(path.join(dataDir, f), 'utf8'))
        .join('') + fs.readFileSync(`${img}.scrub.json`, 'utf8');
    for (const secret of [g.passphrase, g.volume_key_hex, g.volume_key_hex.slice(0, 32), Buffer.from(g.volume_key_hex, 'hex').toString('base64')]) {
      assert.ok(!sent.includes(secret), `events hold ${secret.slice(0, 8)}…`);
      assert.ok(!saved.includes(secret), `saved files hold ${secret.slice(0, 8)}…`);
    }
    assert.match(fs.readFileSync(path.join(dataDir, 'volumes.json'), 'utf8'), /"luks": true/);
  } finally {
    await host.close();
  }
  // after a restart the volume is locked again, its last scrub still known
  const again = await EngineHost.create({ dataDir, pollMs: 0 });
  try {
    const [v] = again.listVolumes();
    assert.equal(v!.state, 'locked');
    assert.ok(v!.conditions.includes('errors'));
    assert.equal(v!.verification.bad_blocks, 3);
    const renamed = (await dispatch(again, 'updateVolume', [v!.id, { name: 'backup (encrypted)' }])) as VolumeSnapshot;
    assert.equal(renamed.name, 'backup (encrypted)');
    assert.equal(renamed.state, 'locked');
    await assert.rejects(
      dispatch(again, 'updateVolume', [v!.id, { integrity: 'sha256' }]),
      /LUKS2 volume: .*only the name and speed limit can be changed \(not integrity\)/,
    );
    // the speed limit of its scrub is the volume's too
    assert.equal(((await dispatch(again, 'updateVolume', [v!.id, { speedLimitMiBs: 8 }])) as VolumeSnapshot).speed_limit_mib_s, 8);
    assert.equal(((await dispatch(again, 'updateVolume', [v!.id, { speedLimitMiBs: 0 }])) as VolumeSnapshot).speed_limit_mib_s, null);
  } finally {
    await again.close();
  }
});

test('LUKS2 scrub job: pause persists the position, resume finishes, clean only when every sector was checked', async () => {
  const dir = scratch();
  const g = golden('gcm-4096');
  const img = unpack(g, dir);
  // a slow scrub (--max-rate) so the pause lands mid-way on a fast machine
  const host = await EngineHost.create({ pollMs: 0, throttleMs: 0, startJob: (spec, on) => startJob({ ...spec, maxBytesPerSecond: 256 * 1024 }, on) });
  try {
    const added = (await dispatch(host, 'addVolume', [{ path: img, luksSecret: { passphrase: g.passphrase } }])) as VolumeSnapshot;
    assert.equal(added.state, 'not-checked');
    await dispatch(host, 'startScrub', [added.id]);
    await new Promise((r) => setTimeout(r, 1500));
    await dispatch(host, 'pauseScrub', [added.id]);
    const paused = host.listVolumes()[0]!;
    assert.equal(paused.verification.scrub, 'paused');
    assert.equal(paused.state, 'check-paused');
    const st = JSON.parse(fs.readFileSync(`${img}.scrub.json`, 'utf8'));
    assert.ok(st.position_sector > 0 && st.position_sector < g.mapped_sectors, `paused mid-way at ${st.position_sector}`);
    assert.equal(st.position_sector % 8, 0);
    assert.ok(paused.verification.unchecked.some((u) => u.reason === 'not-reached'));
    await dispatch(host, 'resumeScrub', [added.id]);
    const v = await until(host, added.id, (x) => x.verification.scrub === 'finished');
    assert.equal(v.state, 'clean');
    assert.equal(v.verification.checked_blocks, g.mapped_sectors / 8);
    assert.equal(v.verification.total_blocks, g.mapped_sectors / 8);
    assert.deepEqual(
      v.runs.map((r) => r.result),
      ['paused', 'done'],
    );
  } finally {
    await host.close();
  }
});

test('createLuksVolume: refuses an image that holds data unless force; formats, wipes, lists it unlocked; a scrub is clean', async () => {
  const dir = scratch();
  const host = await EngineHost.create({ pollMs: 0, throttleMs: 0 });
  const events: IntegrityEvent[] = [];
  host.onEvent((e) => events.push(e));
  const pass = 'form pass phrase ✓';
  try {
    const used = path.join(dir, 'used.img');
    fs.writeFileSync(used, Buffer.alloc(20 << 20, 7));
    await assert.rejects(
      dispatch(host, 'createLuksVolume', [{ path: used, integrity: 'hmac-sha256', secret: { passphrase: pass }, pbkdf: 'pbkdf2', pbkdfIterations: 1000 }]),
      /Format file .*used\.img \(20\.0 MiB\)\? It holds data with no known signature .*everything on it is lost/,
    );
    assert.ok(fs.readFileSync(used).equals(Buffer.alloc(20 << 20, 7)), 'refused: nothing written');
    const img = path.join(dir, 'new.img');
    const v = (await dispatch(host, 'createLuksVolume', [
      {
        path: img,
        size: 18 << 20,
        integrity: 'aead',
        cipher: 'aes-gcm-random',
        keySize: 256,
        sectorSize: 4096,
        secret: { passphrase: pass },
        pbkdf: 'pbkdf2',
        pbkdfIterations: 1000,
      },
    ])) as VolumeSnapshot;
    assert.equal(v.luks?.locked, false);
    assert.equal(v.luks?.cipher, 'aes-gcm-random');
    assert.equal(v.luks?.integrity, 'aead');
    assert.equal(v.luks?.sector_size, 4096);
    assert.ok(events.some((e) => e.type === 'kdf-progress' && e.done));
    assert.ok(events.some((e) => e.type === 'format-progress' && e.phase === 'wipe' && e.done === e.total));
    await dispatch(host, 'startScrub', [v.id]);
    const s = await until(host, v.id, (x) => x.verification.scrub === 'finished');
    assert.equal(s.state, 'clean');
    assert.equal(s.verification.checked_blocks, s.verification.total_blocks);
    // the passphrase as UTF-8 opens it again (a fresh host: locked, then unlocked)
    const h2 = await EngineHost.create({ pollMs: 0 });
    try {
      const a = (await dispatch(h2, 'addVolume', [{ path: img }])) as VolumeSnapshot;
      assert.equal(a.state, 'locked');
      await assert.rejects(
        dispatch(h2, 'unlockVolume', [a.id, { luksSecret: { passphrase: 'form pass phrase' } }]),
        (e: Error) => e.message === NO_KEY_MESSAGE,
      );
      const u = (await dispatch(h2, 'unlockVolume', [a.id, { luksSecret: { passphrase: pass } }])) as VolumeSnapshot;
      assert.equal(u.state, 'clean');
    } finally {
      await h2.close();
    }
    assert.ok(!JSON.stringify(events).includes(pass));
  } finally {
    await host.close();
  }
});

test('protocol: a LUKS2 secret is { passphrase } or { file }, never echoed in the error', async () => {
  const host = await EngineHost.create({ pollMs: 0 });
  try {
    await assert.rejects(
      dispatch(host, 'addVolume', [{ path: os.tmpdir(), luksSecret: { passphrase: 'sekrit-value', hex: 'ab' } }]),
      (e: Error) => /one of them/.test(e.message) && !e.message.includes('sekrit'),
    );
    await assert.rejects(
      dispatch(host, 'addVolume', [{ path: os.tmpdir(), luksSecret: 'sekrit-value' }]),
      (e: Error) => /\{ passphrase \} or \{ file \}/.test(e.message) && !e.message.includes('sekrit'),
    );
  } finally {
    await host.close();
  }
});

test('LUKS2 journal: read without a key, replayed as the kernel does on activation once unlocked, reads what the kernel read', async () => {
  const dir = scratch();
  const g = golden('journal') as Golden & { kernel_read_sha256: string };
  const img = unpack(g, dir);
  const host = await EngineHost.create({ pollMs: 0 });
  try {
    const added = (await dispatch(host, 'addVolume', [{ path: img }])) as VolumeSnapshot;
    // the crash left 32 committed entries in the journal (manifest note); their blocks on disk already equal them,
    // so nothing awaits replay (journalOnDisk compares): they are counted as applied, as for plain volumes
    assert.equal(added.journal_disk!.applied_entries, 32);
    assert.equal(added.journal_disk!.committed_entries, 0);
    assert.ok(!added.conditions.includes('journal-replay'), added.conditions.join());
    await assert.rejects(dispatch(host, 'replayJournal', [added.id]), /Unlock it with its passphrase/);
    await dispatch(host, 'unlockVolume', [added.id, { luksSecret: { passphrase: g.passphrase } }]);
    const after = (await dispatch(host, 'replayJournal', [added.id])) as VolumeSnapshot;
    assert.equal(after.journal_disk!.committed_entries, 0);
    assert.ok(!after.conditions.includes('journal-replay'));
    const { unlockCryptVolume } = await import('../../engine/crypt/volume.js');
    const { volume: v } = await unlockCryptVolume(img, { passphrase: Buffer.from(g.passphrase) });
    try {
      const all = Buffer.alloc(v.size);
      v.read(0, v.sectors, all);
      const crypto = await import('node:crypto');
      assert.equal(crypto.createHash('sha256').update(all).digest('hex'), g.kernel_read_sha256, 'what the kernel read after its own replay');
    } finally {
      v.close();
    }
  } finally {
    await host.close();
  }
});
