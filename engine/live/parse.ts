// Parsers for what dmsetup and the kernel print about device-mapper devices: `dmsetup status` of an integrity
// segment (dm_integrity_status STATUSTYPE_INFO), `dmsetup info -c`, `dmsetup targets`, /proc/self/mountinfo.
// Pure functions over text; no I/O.
import { IntegrityStudioError } from '../errors.js';
import type { IntegrityStatus, MountInfo, TargetVersion } from './types.js';
import { splitNamedLine } from './table.js';

/** `[NAME: ]<start> <length> integrity <mismatches> <provided_data_sectors> <recalc_sector | ->` */
export function parseIntegrityStatus(input: string): IntegrityStatus {
  const t = splitNamedLine(input).rest.split(/\s+/);
  if (t[2] !== 'integrity') throw new IntegrityStudioError(`dm status: not an integrity target (${t[2] ?? 'empty line'})`, 'EDMSTATUS');
  const num = (s: string | undefined, what: string) => {
    if (s === undefined || !/^\d+$/.test(s) || !Number.isSafeInteger(Number(s)))
      throw new IntegrityStudioError(`dm status: ${what} is not a number`, 'EDMSTATUS');
    return Number(s);
  };
  return {
    mismatches: num(t[3], 'mismatch count'),
    provided_data_sectors: num(t[4], 'provided_data_sectors'),
    recalc_sector: t[5] === '-' ? null : num(t[5], 'recalc_sector'),
  };
}

/** dmsetup's default name mangling ("auto") prints characters outside udev's whitelist as \xNN. */
export function unmangle(s: string): string {
  return s.replace(/\\x([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** The columns DM_INFO_COLUMNS asks for, in this order. */
export const DM_INFO_COLUMNS = 'name,major,minor,attr,open,segments,events,uuid';

export interface DmInfo {
  name: string;
  major: number;
  minor: number;
  devno: string;
  live_table: boolean;
  inactive_table: boolean;
  suspended: boolean;
  read_only: boolean;
  open_count: number;
  segments: number;
  event_nr: number;
  uuid: string;
}

/** `dmsetup info -c --noheadings --separator '|' -o DM_INFO_COLUMNS` (names and UUIDs mangled, so '|' is safe). */
export function parseDmInfo(text: string): DmInfo[] {
  const out: DmInfo[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim() || /^No devices found/.test(line)) continue;
    const f = line.split('|');
    if (f.length < 8) throw new IntegrityStudioError(`dmsetup info: unexpected line ${JSON.stringify(line.slice(0, 80))}`, 'EDMINFO');
    const [name, major, minor, attr, open, segments, events, uuid] = f.map((s) => s.trim());
    const n = (s: string | undefined) => (s && /^\d+$/.test(s) ? Number(s) : 0);
    const a = attr ?? '';
    out.push({
      name: unmangle(name!),
      major: n(major),
      minor: n(minor),
      devno: `${n(major)}:${n(minor)}`,
      live_table: a[0] === 'L',
      inactive_table: a[1] === 'I',
      suspended: a[2] === 's',
      read_only: a[3] === 'r',
      open_count: n(open),
      segments: n(segments),
      event_nr: n(events),
      uuid: unmangle(uuid ?? ''),
    });
  }
  return out;
}

/** cryptsetup's feature gates on the integrity target's version (lib/libdevmapper.c _dm_set_integrity_compat). */
export function targetVersion(text: string): TargetVersion {
  const m = /^v?(\d+)\.(\d+)\.(\d+)$/.exec(text.trim());
  if (!m) throw new IntegrityStudioError(`dm target version: unexpected ${JSON.stringify(text.slice(0, 20))}`, 'EDMTARGETS');
  const v: [number, number, number] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const atLeast = (maj: number, min: number) => v[0] > maj || (v[0] === maj && v[1] >= min);
  return {
    version: v,
    text: `${v[0]}.${v[1]}.${v[2]}`,
    features: {
      recalculate: atLeast(1, 2),
      bitmap: atLeast(1, 3),
      fix_padding: atLeast(1, 4),
      discards: atLeast(1, 6),
      fix_hmac: atLeast(1, 7),
      reset_recalculate: atLeast(1, 8),
      inline: atLeast(1, 12),
    },
  };
}

/** `dmsetup targets`: `<name> v<major>.<minor>.<patch>` per loaded target; the integrity one, or null. */
export function parseTargets(text: string, target = 'integrity'): TargetVersion | null {
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s+(v\d+\.\d+\.\d+)\s*$/.exec(line.trim());
    if (m && m[1] === target) return targetVersion(m[2]!);
  }
  return null;
}

/** mountinfo's octal escapes (\040 space, \011 tab, \012 newline, \134 backslash). */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** /proc/self/mountinfo (proc(5)): `id parent maj:min root mount_point options [optional…] - fstype source super`. */
export function parseMountinfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const f = line.split(' ');
    const sep = f.indexOf('-', 6);
    if (sep < 0 || f.length < sep + 3) continue;
    const opts = (f[5] ?? '').split(',');
    const superOpts = (f[sep + 3] ?? '').split(',');
    out.push({
      devno: f[2]!,
      mount_point: unescapeMount(f[4]!),
      fs_type: f[sep + 1]!,
      source: unescapeMount(f[sep + 2]!),
      read_only: opts.includes('ro') || superOpts.includes('ro'),
    });
  }
  return out;
}
