// The host's live part against a real kernel: `serve` as root in the oracle guest (testing/live-host-guest.ts) over
// a device whose recalculation the kernel runs, called through its HTTP API: discovery, the watch's samples moving
// and agreeing with `dmsetup status`, a control asked first while the device is open, then confirmed. One boot:
// ORACLE_RELEASE (default bookworm, Linux 6.1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ORACLE_RELEASES, runOracle, skipWithoutOracle, type OracleRelease } from '../../testing/oracle.js';
import { PROJECT_ROOT } from '../../testing/golden.js';
import type { ControlPlan, ControlResult, IntegrityStatus, LiveOverview, LiveScrubView, LiveSnapshot } from '../../engine/api.js';

/** an error answer of serve's HTTP API */
interface Refusal {
  error: string;
  code?: string;
}
/** what testing/live-host-guest.ts reports */
interface GuestData {
  kernel: string;
  integritysetup: string;
  overview: LiveOverview;
  watched: Array<{ snapshot: LiveSnapshot; dmsetup_after: number | null }>;
  asked: { plan: ControlPlan; answer: Refusal; info: string };
  confirmed: ControlResult;
  suspended_info: string;
  resumed: { suspended_snapshot: LiveSnapshot; answer: ControlResult; info: string };
  after: LiveSnapshot;
  after_dmsetup: IntegrityStatus;
  refused: Refusal;
  scrub: { start: LiveScrubView; paused: LiveScrubView; later: LiveScrubView };
  via_helper: { names: string[]; snapshot: LiveSnapshot; plan: ControlPlan };
}

const release = (process.env.ORACLE_RELEASE ?? 'bookworm') as OracleRelease;
const kernel = ORACLE_RELEASES.find((r) => r.release === release)?.kernel ?? release;

/** dist/engine, dist/host, dist/testing, package.json and the packages serve loads (ws, @noble/hashes, @node-rs/*, node-gyp-build), with
 *  their times kept so the oracle's cached image is reused while nothing changed */
function stageProject(): string {
  const stage = path.join(PROJECT_ROOT, '.tmp', 'live-host-oracle', 'project');
  fs.rmSync(stage, { recursive: true, force: true });
  fs.mkdirSync(path.join(stage, 'dist'), { recursive: true });
  const copy = (from: string, to: string) =>
    fs.cpSync(path.join(PROJECT_ROOT, from), path.join(stage, to), {
      recursive: true,
      preserveTimestamps: true,
      filter: (s) => !s.endsWith('.map') && !s.endsWith('.test.js'),
    });
  for (const dir of ['engine', 'host', 'testing']) copy(path.join('dist', dir), path.join('dist', dir));
  for (const pkg of ['ws', '@noble', '@node-rs', 'node-gyp-build']) copy(path.join('node_modules', pkg), path.join('node_modules', pkg));
  copy('package.json', 'package.json');
  return stage;
}

test(`[Linux ${kernel}, ${release}] serve as root over a kernel-active device: discovery, the watched recalculation against dmsetup status, suspend asked first then confirmed, a live scrub, the same host over the privileged helper`, (t) => {
  if (skipWithoutOracle(t, release)) return;
  fs.mkdirSync(path.join(PROJECT_ROOT, '.tmp'), { recursive: true });
  const work = fs.mkdtempSync(path.join(PROJECT_ROOT, '.tmp', 'live-host-oracle-'));
  let out: { ok: boolean; error?: string; data?: GuestData } | null = null;
  let r: ReturnType<typeof runOracle>;
  try {
    const disk = path.join(work, 'vda.img');
    fs.closeSync(fs.openSync(disk, 'w'));
    fs.truncateSync(disk, 2048 * 1024 * 1024);
    r = runOracle('cd /tmp && node /project/dist/testing/live-host-guest.js\n', [disk], { release, node: stageProject(), timeoutSec: 900 });
    const line = r.stdout.split('\n').find((l) => l.startsWith('LIVE-HOST-RESULT '));
    if (line) out = JSON.parse(line.slice('LIVE-HOST-RESULT '.length));
    fs.writeFileSync(
      path.join(PROJECT_ROOT, '.tmp', `live-host-oracle-${release}.log`),
      `status ${r.status}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`,
    );
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  assert.ok(out, `no result from the guest (status ${r.status}): ${r.stdout.slice(-1500)} ${r.stderr.slice(-1500)}`);
  assert.ok(out.ok, `failed in the guest: ${out.error}`);
  const d = out.data!;
  t.diagnostic(`kernel ${d.kernel}, ${d.integritysetup}`);
  // discovery through the real host: available as root, the device found with its recalculation
  assert.equal(d.overview.availability.available, true, JSON.stringify(d.overview.availability));
  assert.equal(d.overview.availability.via, 'root');
  const live = d.overview.volumes.find((v) => v.name === 'live');
  assert.ok(live, `live not listed: ${JSON.stringify(d.overview.volumes.map((v) => v.name))}`);
  assert.equal(live.owner.kind, 'integritysetup');
  assert.equal(live.table.options.recalculate, true);
  // the watch's samples: the position moves, never ahead of dmsetup status read right after, a rate appears
  const positions = d.watched.map((w) => w.snapshot?.recalc.position ?? null);
  assert.ok(
    positions.every((p) => typeof p === 'number'),
    JSON.stringify(positions),
  );
  assert.ok(positions.at(-1)! > positions[0]!, `the recalculation did not move: ${JSON.stringify(positions)}`);
  for (const w of d.watched)
    assert.ok(w.snapshot.recalc.position! <= w.dmsetup_after!, `sampled ${w.snapshot.recalc.position} after dmsetup said ${w.dmsetup_after}`);
  assert.ok(
    d.watched.some((w) => w.snapshot.recalc.state === 'running' && (w.snapshot.recalc.bytes_per_second ?? 0) > 0),
    'a rate from successive samples',
  );
  // open by a process: suspend asked first (ECONFIRM), nothing ran; confirmed, the kernel suspended it
  assert.match(d.asked.plan.confirm ?? '', /open by a process/);
  assert.equal(d.asked.answer.code, 'ECONFIRM');
  assert.equal(d.asked.answer.error, d.asked.plan.confirm);
  assert.doesNotMatch(d.asked.info, /s/, `suspended before the confirmation: ${d.asked.info}`);
  assert.equal(d.confirmed.plan.action, 'suspend');
  assert.match(d.suspended_info, /s/);
  assert.equal(d.resumed.suspended_snapshot.state, 'suspended');
  assert.doesNotMatch(d.resumed.info, /s/);
  assert.ok(d.after.recalc.position! >= d.resumed.suspended_snapshot.recalc.position!, 'the recalculation continues after resume');
  // the live scrub through the host (behind the kernel's recalculation, so every block it read was verified):
  // it moved, paused with its position kept, counted each block read as checked, found nothing
  assert.equal(d.scrub.start.state, 'running', JSON.stringify(d.scrub.start).slice(0, 500));
  assert.equal(d.scrub.paused.state, 'paused');
  assert.ok(d.scrub.paused.position_sector > 0, 'the scrub read something');
  assert.ok(d.scrub.paused.position_sector < d.after.recalc.position!, 'it stayed behind the recalculation');
  assert.equal(d.scrub.later.position_sector, d.scrub.paused.position_sector);
  assert.equal(d.scrub.paused.unchecked_blocks, 0, JSON.stringify(d.scrub.paused.unchecked));
  assert.equal(d.scrub.paused.checked_blocks, d.scrub.paused.position_sector / d.scrub.paused.sectors_per_block);
  assert.equal(d.scrub.paused.bad_blocks, 0);
  assert.ok(d.scrub.paused.bad_ranges.length <= 64 && typeof d.scrub.paused.bad_range_count === 'number', 'the answer is the bounded view');
  // the same host through the privileged helper: the same device, sampled, planned
  assert.ok(d.via_helper.names.includes('live'));
  assert.equal(d.via_helper.snapshot.name, 'live');
  assert.equal(d.via_helper.plan.commands[0], 'dmsetup suspend live');
  // a refusal comes back in the plan's words
  assert.equal(d.refused.code, 'EREFUSED');
  assert.match(d.refused.error, /not suspended/);
});
