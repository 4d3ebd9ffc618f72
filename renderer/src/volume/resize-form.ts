// The Resize form (integritysetup resize): a new size in the units an admin thinks in, or the whole image file /
// device; a grown area wiped or marked for recalculation; the equivalent commands, quoted for a POSIX shell (keys
// as key files, never their bytes). Pure: no DOM.
import type { ResizeLimits, ResizeVolumeRequest, VolumeSnapshot } from '../../../engine/api.js';
import { formatBytes } from '../lib/format.js';
import { commandLine, shellQuote } from '../lib/shell.js';

export const UNITS = { MiB: 2 ** 20, GiB: 2 ** 30, TiB: 2 ** 40 } as const;
export type Unit = keyof typeof UNITS;

export interface ResizeForm {
  /** fit the image file or device as it is now */
  whole: boolean;
  amount: string;
  unit: Unit;
  newArea: 'wipe' | 'recalculate';
}

export const RESIZE_LABELS = {
  whole: 'Whole device/file',
  size: 'New size',
  amount: 'New size',
  unit: 'Unit',
  wipe: 'Wipe the new area (zeros with valid tags)',
  recalculate: 'Mark the new area for recalculation (tags computed in the background)',
} as const;

/** the unit a size reads best in, and the amount in it (at most 3 decimals) */
export function inUnits(bytes: number): { amount: string; unit: Unit } {
  const unit: Unit = bytes >= UNITS.TiB ? 'TiB' : bytes >= UNITS.GiB ? 'GiB' : 'MiB';
  return { amount: String(Math.round((bytes / UNITS[unit]) * 1000) / 1000), unit };
}

export function initialForm(lim: ResizeLimits): ResizeForm {
  return { whole: lim.device_kind === 'block', ...inUnits(lim.current_bytes), newArea: lim.recalc_allowed ? 'recalculate' : 'wipe' };
}

/** the size the form asks for, in bytes, or the one line naming what is wrong (in the form's words) */
export function wantedBytes(f: ResizeForm, lim: ResizeLimits): { bytes: number; error?: undefined } | { bytes?: undefined; error: string } {
  const L = RESIZE_LABELS;
  if (f.whole) return { bytes: lim.whole_device_bytes };
  const t = f.amount.trim();
  // the current size as the form first shows it (rounded to 3 decimals) means the current size itself
  const cur = inUnits(lim.current_bytes);
  if (t === cur.amount && f.unit === cur.unit) return { bytes: lim.current_bytes };
  if (!/^\d+(\.\d+)?$/.test(t)) return { error: `${L.size}: give a number of ${f.unit}, e.g. ${inUnits(lim.current_bytes).amount}` };
  const exact = Number(t) * UNITS[f.unit];
  const bytes = Math.round(exact);
  if (bytes < lim.min_bytes) return { error: `${L.size}: at least one ${lim.block_size}-byte block` };
  if (bytes % lim.block_size) {
    const down = Math.floor(bytes / lim.block_size) * lim.block_size;
    return { error: `${L.size}: ${t} ${f.unit} is not a whole number of ${lim.block_size}-byte blocks (${formatBytes(down)} is)` };
  }
  if (bytes > lim.max_bytes) {
    return {
      error: `${L.size}: at most ${formatBytes(lim.max_bytes)} (the largest possible${lim.free_bytes !== null ? `: the file system has ${formatBytes(lim.free_bytes)} free` : ''})`,
    };
  }
  if (lim.device_kind === 'block' && bytes !== lim.whole_device_bytes) return { error: `${L.size}: a block device's size is fixed here: choose “${L.whole}”` };
  return { bytes };
}

export function toRequest(f: ResizeForm, bytes: number, lim: ResizeLimits): ResizeVolumeRequest {
  const r: ResizeVolumeRequest = {};
  if (!f.whole) r.size = bytes;
  if (bytes > lim.current_bytes && f.newArea === 'wipe') r.wipe = true;
  if (bytes < lim.current_bytes) r.confirmShrink = true;
  return r;
}

/** `integrity-studio resize …` (does it all offline) and the kernel's `integritysetup resize …` on the opened volume */
export function resizeCommands(v: VolumeSnapshot, f: ResizeForm, bytes: number | undefined, lim: ResizeLimits): { studio: string; kernel: string } {
  const prefix = `integritysetup open ${shellQuote(v.path)} `;
  let name = 'NAME',
    options = '';
  if (v.open_command.startsWith(prefix)) {
    const rest = v.open_command.slice(prefix.length);
    const m = /^('(?:[^']|'\\'')*'|\S+)(.*)$/.exec(rest);
    if (m) {
      name = m[1]!;
      options = m[2]!.replace(/ --integrity-recalculate\b/, '');
    }
  }
  const size = !f.whole && bytes !== undefined ? ['--size', String(bytes / 512)] : [];
  const wipe = bytes !== undefined && bytes > lim.current_bytes && f.newArea === 'wipe' ? ['--wipe'] : [];
  const studio = `${commandLine(['integrity-studio', 'resize', v.path])}${options}${size.length || wipe.length ? ` ${commandLine([...size, ...wipe])}` : ''}`;
  const kernel = `${commandLine(['integritysetup', 'resize'])} ${name}${size.length || wipe.length ? ` ${commandLine([...size, ...wipe])}` : ''}`;
  return { studio, kernel };
}
