// The large host fuzz of `npm run torture`: a real `integrity-studio serve` (child process) recalculating a sparse
// sha256 volume while `frames` seeded frames arrive over 16 connections at once; every 10,000 frames the server
// must answer `status` with the recalculation running or done. Prints frames sent, errors answered, crashes, jobs
// lost.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { addResult, call, describeFuzz, emptyResult, fuzzHost, startServe } from './host-fuzz.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/integrity-studio.js');

type Vol = { id: string; jobs: { recalc?: { state: string; position_sector: number; total_sectors: number } } };

export async function runHostTorture(seed: number, frames: number, log: (s: string) => void): Promise<{ failures: number }> {
  const t0 = Date.now();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'is-host-torture-'));
  const img = path.join(dir, 'r.img');
  const f = spawnSync(process.execPath, [BIN, 'format', img, '--size', '1G', '--integrity', 'sha256', '--integrity-recalculate', '--no-wipe', '--batch-mode'], {
    encoding: 'utf8',
  });
  if (f.status !== 0) {
    log(`host fuzz: format failed: ${f.stderr}`);
    return { failures: 1 };
  }
  const s = await startServe(
    path.join(dir, 'data'),
    [img],
    dir,
    process.env.TORTURE_TRACE ? { INTEGRITY_STUDIO_WS_TRACE: `${process.env.TORTURE_TRACE}.serve` } : {},
  );
  let crashes = 0;
  let jobsLost = 0;
  const total = emptyResult();
  // TORTURE_TRACE=FILE: one JSON line per frame (sent, answered, close code/reason) from the client, and serve's own
  // per-connection trace in FILE.serve (INTEGRITY_STUDIO_WS_TRACE)
  const traceFile = process.env.TORTURE_TRACE;
  const traceFd = traceFile ? fs.openSync(traceFile, 'w') : null;
  const trace = traceFd === null ? undefined : (line: string) => fs.writeSync(traceFd, line + '\n');
  try {
    const id = ((await call(s.url, 'status')).result as { volumes: Vol[] }).volumes[0]!.id;
    await call(s.url, 'startRecalc', id);
    const states: string[] = [];
    for (let round = 0; total.framesSent < frames; round++) {
      const r = await fuzzHost(s.url, { seed: seed + round, frames: Math.min(10_000, frames - total.framesSent), parallel: 16, realId: id, trace });
      addResult(total, r);
      if (s.exited()) {
        crashes++;
        break;
      }
      const st = await call(s.url, 'status');
      const rec = (st.result as { volumes: Vol[] }).volumes.find((v) => v.id === id)?.jobs.recalc;
      const state = rec ? `${rec.state} ${((100 * rec.position_sector) / rec.total_sectors).toFixed(0)}%` : 'missing';
      states.push(state);
      if (!rec || !['running', 'done'].includes(rec.state)) jobsLost++;
      log(`  ${total.framesSent} frames: status answered, recalculation ${state}`);
    }
    log(describeFuzz(total));
  } catch (e) {
    log(`host fuzz: ${(e as Error).message}`);
    if (s.exited()) crashes++;
    else jobsLost++;
  } finally {
    const out = await s.stop();
    const last = out
      .split('\n')
      .filter((l) => /paused|no job/.test(l))
      .join(' ');
    log(`  serve stopped with Ctrl-C: ${last || '(no line)'}`);
    if (/internal error/.test(s.stderr())) log(`  internal errors logged by serve:\n${s.stderr()}`);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  if (traceFd !== null) fs.closeSync(traceFd);
  const failures = crashes + jobsLost + total.unanswered + total.unexpectedCloses + total.strayAnswers;
  log(
    `host: ${total.framesSent} frames sent, ${total.errorsAnswered} errors answered, ${total.okAnswered} ok, ${total.closedAsExpected} connections closed as expected, ${total.unanswered} unanswered, ${total.unexpectedCloses} unexpected closes, ${total.strayAnswers} stray answers, crashes ${crashes}, jobs lost ${jobsLost} (${((Date.now() - t0) / 1000).toFixed(1)} s)`,
  );
  return { failures };
}
