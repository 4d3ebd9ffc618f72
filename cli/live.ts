// `integrity-studio live list | status NAME [--watch] | scrub NAME`: the kernel's own dm-integrity devices from the
// command line, through the same backend as the dashboard (host/live/backend.ts: in process as root, else the
// privileged helper through pkexec; else why not). --json prints what the dashboard's contract carries (bounded).
import { IntegrityStudioError } from '../engine/errors.js';
import type { LiveVolume } from '../engine/live/types.js';
import type { LiveBackend } from '../engine/live/service.js';
import { LiveSampler, type LiveSnapshot } from '../engine/live/sampler.js';
import { formatBytes, formatRate } from '../engine/units.js';
import { LiveBackendChoice, type LiveBackendOptions } from '../host/live/backend.js';
import { boundScrub } from '../engine/live/bound.js';
import type { Io, Values } from './args.js';

export const LIVE_OPTIONS = {
  json: { type: 'boolean' },
  watch: { type: 'boolean' },
  count: { type: 'string' },
  'max-rate': { type: 'string' },
  reset: { type: 'boolean' },
} as const;

export const LIVE_DESCRIPTIONS: Record<string, string> = {
  json: 'print JSON (list: {availability, volumes}; status: one snapshot per line; scrub: one progress per line)',
  watch: 'status: a sample every second until Ctrl-C (or --count samples)',
  count: 'status --watch: stop after this many samples',
  'max-rate': 'scrub: read at most this many MiB/s (the mounted file system stays usable)',
  reset: 'scrub: start from sector 0 even when a paused scrub is saved',
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function owner(v: LiveVolume): string {
  const o = v.owner;
  if (o.kind === 'luks2') return `cryptsetup (LUKS2${o.luks?.name ? ` ${o.luks.name}` : ''})`;
  if (o.kind === 'lvm') return `lvm${o.lvm ? ` ${o.lvm.vg}/${o.lvm.lv}` : ''}`;
  return o.kind;
}

function recalcCell(v: LiveVolume): string {
  const s = v.status;
  if (!s) return '-';
  if (s.recalc_sector === null) return 'none';
  if (s.recalc_sector >= s.provided_data_sectors) return 'done';
  return `${v.suspended ? 'stopped (suspended)' : 'running'} ${((100 * s.recalc_sector) / Math.max(1, s.provided_data_sectors)).toFixed(1)}%`;
}

function used(v: LiveVolume): string {
  const m = [...v.mounts, ...v.holders.flatMap((h) => h.mounts)].map((x) => x.mount_point);
  const h = v.holders.filter((x) => !x.mounts.length).map((x) => x.dm_name ?? x.kernel_name);
  return [...m, ...h].join(',') || '-';
}

export function snapshotLine(s: LiveSnapshot): string {
  if (s.state === 'gone') return `${s.name}: gone (no integrity device of this name is active)`;
  const r = s.recalc;
  const pos =
    r.position === null
      ? 'never recalculated'
      : `recalculation ${r.state} at sector ${r.position} of ${r.total}${r.percent !== null ? ` (${r.percent.toFixed(1)}%)` : ''}`;
  const rate =
    r.state === 'running'
      ? `, ${r.bytes_per_second === null ? 'rate: measuring' : formatRate(r.bytes_per_second)}${r.eta_ms !== null ? `, ETA ${Math.round(r.eta_ms / 1000)} s` : ''}`
      : '';
  const persisted = r.persisted_sector !== null ? `, persisted ${r.persisted_sector}` : '';
  return `${s.name}: ${s.state}, ${pos}${rate}${persisted}; mismatches ${s.mismatches.kernel ?? '-'} (ours: ${s.mismatches.total})`;
}

export async function cmdLive({ values, positionals }: { values: Values; positionals: string[] }, io: Io, o: LiveBackendOptions = {}): Promise<number> {
  const [sub, name, extra] = positionals;
  if (extra !== undefined) throw new IntegrityStudioError(`live: unexpected argument "${extra}"`, 'EUSAGE');
  const choice = new LiveBackendChoice(o);
  const json = !!values.json;
  if (sub === undefined || sub === 'list') {
    if (name !== undefined) throw new IntegrityStudioError(`live list: unexpected argument "${name}"`, 'EUSAGE');
    const availability = await choice.availability();
    if (!availability.available) {
      if (json) io.out(`${JSON.stringify({ availability, volumes: [] })}\n`);
      throw new IntegrityStudioError(`kernel devices are not available here: ${availability.reason}`, 'EUNSUPPORTED');
    }
    const b = await choice.backend();
    try {
      const volumes = await b.list();
      if (json) {
        io.out(`${JSON.stringify({ availability, volumes, listed_at: new Date().toISOString() })}\n`);
        return 0;
      }
      if (!volumes.length) {
        io.out('no dm-integrity device is active in the kernel\n');
        return 0;
      }
      const rows = [
        ['NAME', 'OWNER', 'MODE', 'SIZE', 'USED BY', 'STATE', 'RECALCULATION'],
        ...volumes.map((v) => [
          v.name,
          owner(v),
          v.table.mode,
          formatBytes(v.size_sectors * 512),
          used(v),
          v.suspended ? 'suspended' : 'active',
          recalcCell(v),
        ]),
      ];
      const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
      io.out(rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]!))).join('  ')).join('\n') + '\n');
      return 0;
    } finally {
      await choice.close();
    }
  }
  if (sub !== 'status' && sub !== 'scrub') throw new IntegrityStudioError(`live: unknown subcommand "${sub}" (list, status NAME, scrub NAME)`, 'EUSAGE');
  if (!name) throw new IntegrityStudioError(`live ${sub}: missing NAME (the device-mapper name, as in /dev/mapper/NAME)`, 'EUSAGE');
  const b: LiveBackend = await choice.backend().catch((e: Error) => {
    throw new IntegrityStudioError(e.message.replace(/^Kernel/, 'kernel'), 'EUNSUPPORTED');
  });
  try {
    if (sub === 'status') {
      const sampler = new LiveSampler(name);
      const count = values.count !== undefined ? Number(values.count) : values.watch ? Infinity : 1;
      if (!Number.isInteger(count) && count !== Infinity) throw new IntegrityStudioError('live status: --count must be a whole number', 'EUSAGE');
      let stop = false;
      const onInt = () => {
        stop = true;
      };
      process.once('SIGINT', onInt);
      try {
        for (let i = 0; i < count && !stop; i++) {
          if (i > 0) await sleep(1000);
          const snap = sampler.add(await b.status(name));
          io.out(json ? `${JSON.stringify(snap)}\n` : `${snapshotLine(snap)}\n`);
        }
      } finally {
        process.removeListener('SIGINT', onInt);
      }
      return 0;
    }
    if (sub === 'scrub') {
      const rate = values['max-rate'] !== undefined ? Number(values['max-rate']) : undefined;
      if (rate !== undefined && !(rate > 0)) throw new IntegrityStudioError('live scrub: --max-rate must be a positive number of MiB/s', 'EUSAGE');
      let last = 0;
      const off = b.onScrubProgress((p) => {
        if (p.name !== name) return;
        const now = Date.now();
        if (p.state === 'running' && now - last < 1000) return;
        last = now;
        const v = boundScrub(p);
        io.out(
          json
            ? `${JSON.stringify(v)}\n`
            : `${name}: ${v.state} ${((100 * v.position_sector) / Math.max(1, v.total_sectors)).toFixed(1)}%, ${formatRate(v.bytes_per_second)}, ${v.bad_blocks} bad block(s), ${v.read_errors} read error(s), ${v.unchecked_blocks} not verified\n`,
        );
      });
      const onInt = () => {
        void b.scrubPause(name).catch(() => undefined);
      };
      process.once('SIGINT', onInt);
      try {
        await b.scrubStart(name, { ...(rate ? { maxBytesPerSecond: rate * 1024 * 1024 } : {}), ...(values.reset ? { reset: true } : {}) });
        for (;;) {
          const p = await b.scrubProgress(name);
          if (p?.state !== 'running') return p?.bad_blocks ? 4 : p?.state === 'failed' ? 1 : 0;
          await sleep(250);
        }
      } finally {
        process.removeListener('SIGINT', onInt);
        off();
      }
    }
    return 2;
  } finally {
    await choice.close();
  }
}
