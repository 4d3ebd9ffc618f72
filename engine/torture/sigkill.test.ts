// Process-level crash: `integrity-studio write` SIGKILLed at random moments; the reopened volume (journal
// replayed as the kernel would) must verify everywhere, and each block must hold its old or its new contents.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { memoryVolume } from './crash.js';
import { prng } from '../io/fault.js';
import { openWritable, DIRECT_MODE_WARNING } from '../target/writable.js';
import { openVolume } from '../volume.js';
import { PROJECT_ROOT, tmpDir } from '../testing/golden.js';

const BIN = path.join(PROJECT_ROOT, 'bin', 'integrity-studio.js');
const SEED = Number(process.env.TORTURE_SEED ?? 20261123);
const KILLS = Number(process.env.TORTURE_KILLS ?? 6);

test(`SIGKILLed writes (${KILLS} kills): every block verifies and holds its old or new contents`, async (t) => {
  const dir = tmpDir('kill-');
  const rand = prng(SEED);
  const sectors = 8192; // 4 MiB of data
  const { image, initial } = memoryVolume({ integrity: 'crc32c', blockSize: 4096, seed: SEED }, sectors);
  const img = path.join(dir, 'vol.img');
  const input = path.join(dir, 'input.bin');
  let killedMidway = 0;
  for (let k = 0; k < KILLS; k++) {
    fs.writeFileSync(img, image);
    const bytes = (64 + Math.floor(rand() * 448)) * 4096;
    const offset = Math.floor(rand() * (sectors * 512 - bytes) / 4096) * 4096;
    const data = Buffer.alloc(bytes);
    for (let i = 0; i < bytes; i += 4) data.writeUInt32LE(Math.floor(rand() * 2 ** 32), i);
    fs.writeFileSync(input, data);
    const child = spawn(process.execPath, [BIN, 'write', img, '--offset', String(offset), '--input', input], { stdio: 'ignore' });
    const delay = 80 + rand() * 400;
    const timer = setTimeout(() => child.kill('SIGKILL'), delay);
    const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
    clearTimeout(timer);
    if (signal === 'SIGKILL') killedMidway++;
    else assert.equal(code, 0);
    // reopen read-only (journal presented as replayed), then for writing (replayed on disk): both must agree
    for (const writable of [false, true]) {
      const vol = writable ? openWritable(img) : openVolume(img);
      const out = Buffer.alloc(sectors * 512);
      const bad: number[] = [];
      vol.target.read(0, sectors, out, 0, (s) => bad.push(s));
      vol.close();
      assert.deepEqual(bad, [], `kill ${k} (seed ${SEED}, after ${delay.toFixed(0)} ms): blocks fail verification`);
      for (let b = 0; b < sectors / 8; b++) {
        const got = out.subarray(b * 4096, (b + 1) * 4096);
        const old = initial.subarray(b * 4096, (b + 1) * 4096);
        const rel = b * 4096 - offset;
        const neu = rel >= 0 && rel < bytes ? data.subarray(rel, rel + 4096) : null;
        assert.ok(got.equals(old) || (neu && got.equals(neu)), `kill ${k} (seed ${SEED}): block ${b} holds neither its old nor its new contents`);
        if (signal !== 'SIGKILL' && neu) assert.ok(got.equals(neu), `block ${b}: completed write missing`);
      }
    }
  }
  // the delays are chosen to land inside the write most of the time; a run where none did tests nothing
  t.diagnostic(`${killedMidway} of ${KILLS} kills landed during the write`);
  assert.ok(killedMidway > 0, 'no kill landed during a write');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('write in direct mode prints the crash warning', () => {
  const dir = tmpDir('kill-');
  const img = path.join(dir, 'vol.img');
  fs.writeFileSync(img, memoryVolume({ integrity: 'crc32c', blockSize: 512, seed: 3 }).image);
  const r = spawnSync(process.execPath, [BIN, 'write', img, '--integrity-no-journal', '--offset', '0'], { input: Buffer.alloc(1024, 1), encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.stderr.includes(DIRECT_MODE_WARNING), r.stderr);
  const j = spawnSync(process.execPath, [BIN, 'write', img, '--offset', '0'], { input: Buffer.alloc(1024, 1), encoding: 'utf8' });
  assert.equal(j.status, 0, j.stderr);
  assert.ok(!j.stderr.includes(DIRECT_MODE_WARNING));
  fs.rmSync(dir, { recursive: true, force: true });
});
