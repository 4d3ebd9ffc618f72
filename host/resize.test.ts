// EngineHost resize (the dashboard's Resize): the limits it reports, the refusals worded for the form, a shrink only
// when confirmed, a keyed hash without journal MAC grown only with a wipe, and the state afterwards read from disk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { EngineHost } from './engine-host.js';
import crypto from 'node:crypto';
import { formatVolume } from '../engine/commands/format.js';
import { openVolume } from '../engine/volume.js';
import { tmpDir } from '../testing/golden.js';
import type { IntegrityEvent } from '../engine/api.js';

const MiB = 1 << 20;

function image(dir: string, name: string, mib: number, o: Record<string, unknown> = {}): string {
  const img = path.join(dir, name);
  fs.writeFileSync(img, Buffer.alloc(0));
  fs.truncateSync(img, mib * MiB);
  formatVolume(img, { force: true, confirm: () => true, ...o });
  return img;
}

test('resize: limits, a wiped grow with wipe progress events, a shrink only when confirmed, then true sizes and state', async () => {
  const dir = tmpDir();
  const host = await EngineHost.create({ pollMs: 0, startJob: null });
  try {
    const v = await host.addVolume({ path: image(dir, 'a.img', 8) });
    const lim = host.resizeLimits(v.id);
    assert.equal(lim.current_bytes, v.size_bytes);
    assert.equal(lim.device_kind, 'file');
    assert.equal(lim.whole_device_bytes, lim.current_bytes);
    assert.ok(lim.max_bytes > lim.current_bytes && lim.free_bytes! > 0);
    assert.equal(lim.refused, null);
    const events: IntegrityEvent[] = [];
    host.onEvent((e) => events.push(e));
    await assert.rejects(host.resizeVolume(v.id, { size: 1000 }), /New size must be a whole number of 512-byte blocks/);
    await assert.rejects(host.resizeVolume(v.id, { size: lim.max_bytes + 512 }), /larger than the largest possible/);
    // the image grows over old contents (random bytes): the wipe must leave every new sector zero
    const fd = fs.openSync(v.path, 'r+');
    fs.writeSync(fd, crypto.randomBytes(32 * MiB), 0, 32 * MiB, 8 * MiB);
    fs.closeSync(fd);
    const grown = await host.resizeVolume(v.id, { size: 32 * MiB, wipe: true });
    assert.equal(grown.size_bytes, 32 * MiB);
    const vol = openVolume(v.path, { readOnly: true });
    try {
      const from = lim.current_bytes / 512;
      const fresh = Buffer.alloc(32 * MiB - lim.current_bytes);
      assert.equal(
        vol.target.read(from, fresh.length / 512, fresh, 0, () => {}),
        0,
        'the new sectors verify',
      );
      assert.ok(fresh.equals(Buffer.alloc(fresh.length)), `sectors ${from}–${(32 * MiB) / 512 - 1} (new) read as zeros`);
    } finally {
      vol.close();
    }
    assert.equal(grown.state, 'not-checked', 'never scrubbed at this size');
    const wipes = events.filter((e): e is Extract<IntegrityEvent, { type: 'progress' }> => e.type === 'progress' && e.progress.job === 'wipe');
    assert.ok(wipes.length > 0);
    const last = wipes.at(-1)!.progress;
    assert.equal(last.state, 'done');
    assert.equal(last.start_sector, lim.current_bytes / 512);
    assert.equal(last.position_sector, (32 * MiB) / 512);
    assert.ok(last.bytes_per_second > 0);
    // a shrink is refused unless confirmed, with what it loses
    await assert.rejects(host.resizeVolume(v.id, { size: 4 * MiB }), /Shrinking to 4.0 MiB loses the last 28.0 MiB of data: confirm the shrink/);
    const shrunk = await host.resizeVolume(v.id, { size: 4 * MiB, confirmShrink: true });
    assert.equal(shrunk.size_bytes, 4 * MiB);
    assert.ok(fs.statSync(shrunk.path).size < 8 * MiB);
  } finally {
    await host.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("resize: a keyed hash without journal MAC grows only with a wipe (the kernel's recalculation rule); missing keys refuse", async () => {
  const dir = tmpDir();
  const key = Buffer.alloc(32, 7);
  const img = image(dir, 'k.img', 8, { integrity: 'hmac-sha256', integrityKey: key });
  const host = await EngineHost.create({ pollMs: 0, startJob: null });
  try {
    const v = await host.addVolume({ path: img, integrity: 'hmac-sha256', integrityKey: { hex: key.toString('hex') } });
    const lim = host.resizeLimits(v.id);
    assert.equal(lim.recalc_allowed, false);
    fs.truncateSync(img, 16 * MiB);
    await assert.rejects(host.resizeVolume(v.id, {}), /cannot be marked for recalculation: .*choose "Wipe the new area"/);
    const r = await host.resizeVolume(v.id, { wipe: true });
    assert.ok(r.size_bytes > v.size_bytes);
    assert.equal(r.superblock!.recalc_sector, null);
  } finally {
    await host.close();
  }
  // after a restart the key is forgotten: resize says to Unlock
  const host2 = await EngineHost.create({ pollMs: 0, startJob: null });
  try {
    const v = await host2.addVolume({ path: img, integrity: 'hmac-sha256' });
    assert.match(host2.resizeLimits(v.id).refused ?? '', /integrity key is not held: Unlock k.img first/);
    await assert.rejects(host2.resizeVolume(v.id, { wipe: true }), /Not resized: the integrity key is not held/);
  } finally {
    await host2.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
