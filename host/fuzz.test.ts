// The seeded fuzz of the command surface (tools/torture/host-fuzz.ts) against a real `integrity-studio serve`
// child process WITH A RECALCULATION RUNNING: a few hundred frames over many connections at once; afterwards the
// process is up, answers `status`, and the recalculation is running or finished (never lost or failed); Ctrl-C
// then pauses it with its position saved in the superblock. `npm run torture` runs 100,000 frames.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { call, describeFuzz, fuzzHost, startServe } from '../tools/torture/host-fuzz.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/integrity-studio.js');
const SEED = Number(process.env.TORTURE_SEED ?? 12);

test(`fuzz: 400 frames (seed ${SEED}) at a serve with a recalculation running; the job survives`, { timeout: 180_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'is-fuzz-'));
  const img = path.join(dir, 'r.img');
  const f = spawnSync(
    process.execPath,
    [BIN, 'format', img, '--size', '768M', '--integrity', 'sha256', '--integrity-recalculate', '--no-wipe', '--batch-mode'],
    { encoding: 'utf8' },
  );
  assert.equal(f.status, 0, f.stderr);
  const s = await startServe(path.join(dir, 'data'), [img], dir);
  try {
    const st = await call(s.url, 'status');
    const id = (st.result as { volumes: Array<{ id: string }> }).volumes[0]!.id;
    assert.equal((await call(s.url, 'startRecalc', id)).ok, true);
    const r = await fuzzHost(s.url, { seed: SEED, frames: 400, parallel: 10, realId: id });
    console.log(describeFuzz(r));
    assert.equal(r.framesSent, 400);
    assert.equal(r.unanswered, 0, 'every frame answered');
    assert.equal(r.unexpectedCloses, 0);
    assert.ok(r.errorsAnswered > 200, 'most frames are malformed and answered with an error');
    assert.equal(s.exited(), null, `serve is still running: ${s.stderr()}`);
    const after = await call(s.url, 'status');
    assert.equal(after.ok, true);
    const v = (after.result as { volumes: Array<{ id: string; jobs: { recalc?: { state: string; position_sector: number } } }> }).volumes.find(
      (x) => x.id === id,
    )!;
    assert.ok(v.jobs.recalc && ['running', 'done'].includes(v.jobs.recalc.state), `recalculation running or done, not ${v.jobs.recalc?.state}`);
    assert.doesNotMatch(s.stderr(), /internal error/, 'no handler threw');
    const out = await s.stop();
    const status = spawnSync(process.execPath, [BIN, 'status', img, '--integrity', 'sha256', '--json'], { encoding: 'utf8' });
    const j = JSON.parse(status.stdout) as { recalc_sector: number; provided_data_sectors: number };
    // stopped while it ran: paused, the printed position the one saved in the superblock; or it had finished first
    const paused = /paused recalculation of r\.img \(.*\) at [\d.]+% \(sector (\d+) of (\d+)\); the position is saved/.exec(out);
    if (paused) {
      assert.equal(j.recalc_sector, Number(paused[1]), 'the printed position is the saved one');
      assert.ok(j.recalc_sector > 0 && j.recalc_sector < j.provided_data_sectors, status.stdout);
    } else {
      assert.match(out, /no job was running/);
      assert.equal(j.recalc_sector, j.provided_data_sectors, `finished before the stop: ${status.stdout}`);
    }
  } finally {
    if (!s.exited()) s.child.kill('SIGKILL');
  }
});
