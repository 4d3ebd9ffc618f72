// Runs inside the oracle guest (host/live/live-host.oracle.test.ts: `oracle/run --node`, the project read-only at
// /project): `serve` as root over a kernel-active integrity device whose recalculation the kernel runs (slowed by
// dm-delay), called through its HTTP API as the dashboard calls it — discovery, the watch lease's samples against
// `dmsetup status`, and a control asked first while a process holds the device, then confirmed. Prints one
// `LIVE-HOST-RESULT <json>` line. Disk: vda 2 GiB sparse.
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { startServer } from '../host/serve.js';
import { fileURLToPath } from 'node:url';
import { parseIntegrityStatus } from '../engine/live/parse.js';
import { PrivilegedClient } from '../engine/live/privileged-client.js';
import { EngineHost } from '../host/engine-host.js';

const sh = (cmd: string): string => execFileSync('sh', ['-c', cmd], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const dmStatus = (name: string) => parseIntegrityStatus(sh(`dmsetup status ${name}`).trim());

async function main(): Promise<unknown> {
  sh('modprobe dm-delay');
  const size = sh('blockdev --getsz /dev/vda').trim();
  sh(`dmsetup create slow --table "0 ${size} delay /dev/vda 0 250"`);
  sh('integritysetup format -q --no-wipe /dev/mapper/slow');
  sh('integritysetup open /dev/mapper/slow live --integrity-recalculate');
  sh('ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up 2>/dev/null || true');
  const s = await startServer({ dataDir: '/tmp/d', port: 0, newToken: true, pollMs: 0 });
  // biome-ignore lint/suspicious/noExplicitAny: the answers go back to the host test as JSON, typed there (GuestData)
  const api = async (cmd: string, args: unknown[]): Promise<{ ok: boolean; body: any }> => {
    const r = await fetch(`http://127.0.0.1:${s.port}/api/${cmd}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(args),
    });
    return { ok: r.ok, body: await r.json() };
  };
  try {
    const overview = (await api('liveVolumes', [])).body;
    const watched: Array<{ snapshot: unknown; dmsetup_after: number | null }> = [];
    for (let i = 0; i < 8; i++) {
      const w = (await api('watchLive', ['live'])).body;
      watched.push({ snapshot: w.snapshot, dmsetup_after: dmStatus('live').recalc_sector });
      await sleep(1000);
    }
    // a process holds the device: suspend asks first
    const fd = fs.openSync('/dev/mapper/live', 'r');
    let asked: unknown,
      confirmed: unknown,
      suspendedInfo = '',
      resumed: unknown;
    try {
      const plan = (await api('planLive', [{ action: 'suspend', name: 'live' }])).body;
      asked = {
        plan,
        answer: (await api('controlLive', [{ action: 'suspend', name: 'live' }])).body,
        info: sh('dmsetup info -c --noheadings -o attr live').trim(),
      };
      confirmed = (await api('controlLive', [{ action: 'suspend', name: 'live', confirm: true }])).body;
      suspendedInfo = sh('dmsetup info -c --noheadings -o attr live').trim();
      await sleep(1500);
      const afterSuspend = (await api('watchLive', ['live'])).body.snapshot;
      resumed = {
        suspended_snapshot: afterSuspend,
        answer: (await api('controlLive', [{ action: 'resume', name: 'live' }])).body,
        info: sh('dmsetup info -c --noheadings -o attr live').trim(),
      };
    } finally {
      fs.closeSync(fd);
    }
    await sleep(2000);
    const after = (await api('watchLive', ['live'])).body.snapshot;
    const refused = (await api('controlLive', [{ action: 'resume', name: 'live' }])).body;
    // our live scrub while the kernel recalculates: what is past its position is counted as not verified
    const scrubStart = (await api('startLiveScrub', ['live', { maxMiBs: 64 }])).body;
    await sleep(4000);
    const scrubPaused = (await api('pauseLiveScrub', ['live'])).body;
    const scrubLater = (await api('liveScrubProgress', ['live'])).body;
    // the same host over the privileged helper (started directly as root: no polkit agent here), as the desktop
    // app runs it through pkexec
    const helperHost = await EngineHost.create({
      dataDir: '/tmp/d2',
      pollMs: 0,
      autoMapDamage: false,
      liveBackend: new PrivilegedClient({ argv: [process.execPath, fileURLToPath(new URL('../engine/live/privileged-main.js', import.meta.url))] }),
    });
    let viaHelper: unknown;
    try {
      const o = await helperHost.liveVolumes();
      const w = await helperHost.watchLive('live');
      viaHelper = { names: o.volumes.map((v) => v.name), snapshot: w.snapshot, plan: await helperHost.planLive({ action: 'suspend', name: 'live' }) };
    } finally {
      await helperHost.close();
    }
    return {
      scrub: { start: scrubStart, paused: scrubPaused, later: scrubLater },
      via_helper: viaHelper,
      kernel: sh('uname -r').trim(),
      integritysetup: sh('integritysetup --version').trim(),
      overview,
      watched,
      asked,
      confirmed,
      suspended_info: suspendedInfo,
      resumed,
      after,
      after_dmsetup: dmStatus('live'),
      refused,
    };
  } finally {
    await s.close();
  }
}

main().then(
  (data) => {
    process.stdout.write(`LIVE-HOST-RESULT ${JSON.stringify({ ok: true, data })}\n`);
    process.exit(0);
  },
  (e: Error) => {
    process.stdout.write(
      `LIVE-HOST-RESULT ${JSON.stringify({ ok: false, error: `${e.stack ?? e.message}${e.cause ? ` (cause: ${String((e.cause as Error).stack ?? e.cause)})` : ''}` })}\n`,
    );
    process.exit(0);
  },
);
