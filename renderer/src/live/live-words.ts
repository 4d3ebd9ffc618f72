// Kernel devices in words, as the live pages print them. Truthful: the kernel has no pause for its recalculation
// (nothing here says "pause" of it), suspend blocks all I/O, deactivate keeps the position. Pure: no DOM.
import type { ControlAction, LiveScrubView, LiveSnapshot, LiveVolume, RecalcState, VolumeSnapshot } from '../../../engine/api.js';
import { formatBytes, formatCount, formatDuration, formatRate, plural } from '../lib/format.js';

export const SECTOR = 512;

export function ownerWords(v: Pick<LiveVolume, 'owner'>): string {
  const o = v.owner;
  switch (o.kind) {
    case 'integritysetup':
      return 'integritysetup';
    case 'luks2':
      return `cryptsetup (under LUKS2${o.luks?.name ? ` ${o.luks.name}` : ''})`;
    case 'lvm':
      return `LVM${o.lvm ? ` (${o.lvm.vg}/${o.lvm.lv})` : ''}`;
    case 'other':
      return `another tool (${o.uuid || 'no UUID'})`;
    case 'none':
      return 'none (dmsetup)';
  }
}

export const MODE_WORDS: Record<LiveVolume['table']['mode'], string> = {
  J: 'journal',
  B: 'bitmap',
  D: 'direct (no journal)',
  R: 'recovery (nothing verified)',
  I: 'inline',
};

/** where the device is used: its mounts, and what is stacked on it with their mounts */
export function usedByWords(v: Pick<LiveVolume, 'mounts' | 'holders'>): string {
  const parts = v.mounts.map((m) => `mounted on ${m.mount_point} (${m.fs_type})`);
  for (const h of v.holders) {
    const what = h.kind === 'crypt' ? `dm-crypt ${h.dm_name ?? h.kernel_name}` : (h.dm_name ?? h.kernel_name);
    parts.push(h.mounts.length ? `${what}, mounted on ${h.mounts.map((m) => m.mount_point).join(', ')}` : what);
  }
  return parts.length ? parts.join('; ') : 'not in use';
}

const RECALC_WORDS: Record<RecalcState, string> = {
  never: 'not recalculating',
  running: 'recalculating in the kernel',
  done: 'recalculated',
  suspended: 'recalculation stopped while suspended',
  unknown: 'unknown',
};

/** the list's recalculation cell from the kernel's status (the list has no rate; the device page has) */
export function recalcFromStatus(v: Pick<LiveVolume, 'status' | 'suspended'>): string {
  const s = v.status;
  if (!s) return '—';
  if (s.recalc_sector === null) return RECALC_WORDS.never;
  if (s.recalc_sector >= s.provided_data_sectors) return RECALC_WORDS.done;
  const pct = Math.floor((s.recalc_sector / Math.max(1, s.provided_data_sectors)) * 1000) / 10;
  return `${v.suspended ? RECALC_WORDS.suspended : RECALC_WORDS.running}: ${pct}%`;
}

export function recalcStateWords(s: RecalcState): string {
  return RECALC_WORDS[s];
}

export function deviceStateWords(v: Pick<LiveVolume, 'suspended' | 'read_only'>): string {
  return `${v.suspended ? 'suspended (all I/O blocked)' : 'active'}${v.read_only ? ', read-only' : ''}`;
}

export function sectors(n: number | null): string {
  return n === null ? '—' : `${formatCount(n)} (${formatBytes(n * SECTOR)})`;
}

export function rateWords(s: LiveSnapshot): string {
  const r = s.recalc;
  if (r.state !== 'running') return '—';
  return r.bytes_per_second === null ? 'measuring…' : formatRate(r.bytes_per_second);
}

export function etaWords(s: LiveSnapshot): string {
  const r = s.recalc;
  if (r.state === 'done') return 'done';
  if (r.state !== 'running') return '—';
  return r.eta_ms === null ? 'measuring…' : formatDuration(r.eta_ms);
}

export const CONTROL_LABELS: Record<Exclude<ControlAction, 'activate'>, string> = {
  'recalc-start': 'Start recalculation',
  'recalc-reset': 'Restart recalculation from sector 0',
  suspend: 'Suspend (blocks all I/O)',
  resume: 'Resume',
  deactivate: 'Deactivate (keeps the position)',
};

export const CONTROL_ORDER: Array<Exclude<ControlAction, 'activate'>> = ['recalc-start', 'recalc-reset', 'suspend', 'resume', 'deactivate'];

export const NO_PAUSE =
  'The kernel has no pause for its recalculation. To stop it: suspend the device (the position is persisted; all I/O to the device blocks until you resume it) or deactivate it (the position is kept and the next activation continues from it; access ends).';

export function uncheckedWords(p: LiveScrubView): string {
  if (!p.unchecked.length) return 'none';
  const why: Record<string, string> = {
    recalculating: "past the kernel's recalculation position (not verified yet)",
    'dirty-bitmap': 'in dirty bitmap regions',
    'recovery-mode': 'in recovery mode (the kernel checks nothing)',
    'not-verified': 'not verified by any layer (no internal hash)',
  };
  return p.unchecked.map((u) => `${plural(u.blocks, 'block')} ${why[u.reason] ?? u.reason}`).join('; ');
}

/** the volume of the app's list this kernel device was opened from: its image (a loop device's file) or device */
export function listedAs(v: Pick<LiveVolume, 'data_device' | 'meta_device' | 'superblock_device'>, volumes: readonly VolumeSnapshot[]): VolumeSnapshot | null {
  const paths = new Set(
    [v.superblock_device, v.data_device.path, v.data_device.loop_file, v.meta_device?.path, v.meta_device?.loop_file].filter((p): p is string => !!p),
  );
  return volumes.find((x) => paths.has(x.path)) ?? null;
}
