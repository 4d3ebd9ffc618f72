// Discovery: every active device-mapper device with an `integrity` target, decoded from `dmsetup info/table/status`
// (tables without --showkeys, and redacted again here), with what sysfs says is below and above it and what is
// mounted. Reads only; needs root (the dm ioctls do).
import { IntegrityStudioError } from '../errors.js';
import type { Holder, IntegrityStatus, IntegrityTable, LiveVolume, MountInfo, TargetVersion } from './types.js';
import { parseCryptTable, parseIntegrityTable, splitNamedLine, type CryptTable } from './table.js';
import { DM_INFO_COLUMNS, parseDmInfo, parseIntegrityStatus, parseMountinfo, parseTargets, unmangle, type DmInfo } from './parse.js';
import { ownerOf } from './owner.js';
import { toolSaid } from './shell.js';
import {
  blockRef,
  devnoOf,
  dmNameOf,
  dmUuidOf,
  holdersOf,
  kernelNameOf,
  readMountinfo,
  systemRunner,
  SYSTEM_FILES,
  type SystemFiles,
  type ToolRunner,
} from './system.js';

export interface DiscoverOptions {
  runner?: ToolRunner;
  files?: SystemFiles;
}

/** dmsetup's error, in its words, as one line (permission, no device-mapper, …). */
function dmError(what: string, stderr: string): IntegrityStudioError {
  const line = toolSaid(stderr);
  const hint = /permission denied|must be root|operation not permitted/i.test(stderr) ? ' (reading device-mapper tables needs root)' : '';
  return new IntegrityStudioError(`dmsetup ${what}: ${line}${hint}`, 'EDMSETUP');
}

async function dmsetup(runner: ToolRunner, args: string[]): Promise<string> {
  const r = await runner.run('dmsetup', args);
  const text = r.stdout.toString('utf8');
  r.stdout.fill(0);
  if (r.status !== 0) {
    if (/No devices found/i.test(r.stderr + text)) return '';
    throw dmError(args[0] ?? '', r.stderr);
  }
  return text;
}

/** `NAME: line` listings (several segments of one device: the name on each line, or only on its first). */
export function groupByName(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let last: string | null = null;
  for (const line of text.split('\n')) {
    if (!line.trim() || /^No devices found/.test(line)) continue;
    const { name, rest } = splitNamedLine(line);
    const key: string | null = name !== null ? unmangle(name) : last;
    if (key === null) continue;
    last = key;
    const list = out.get(key) ?? [];
    list.push(rest);
    out.set(key, list);
  }
  return out;
}

/** Everything one discovery reads from the tools, so a refresh of one device can reuse it. */
export interface DmSnapshot {
  info: DmInfo[];
  integrityTables: Map<string, string[]>;
  integrityStatus: Map<string, string[]>;
  cryptTables: Map<string, string[]>;
  target: TargetVersion | null;
  mounts: MountInfo[];
}

export async function readDmSnapshot(opts: DiscoverOptions = {}): Promise<DmSnapshot> {
  const runner = opts.runner ?? systemRunner;
  const files = opts.files ?? SYSTEM_FILES;
  const [info, tables, status, crypt, targets] = await Promise.all([
    dmsetup(runner, ['info', '-c', '--noheadings', '--separator', '|', '-o', DM_INFO_COLUMNS]),
    dmsetup(runner, ['table', '--target', 'integrity']),
    dmsetup(runner, ['status', '--target', 'integrity']),
    dmsetup(runner, ['table', '--target', 'crypt']),
    dmsetup(runner, ['targets']),
  ]);
  return {
    info: parseDmInfo(info),
    integrityTables: groupByName(tables),
    integrityStatus: groupByName(status),
    cryptTables: groupByName(crypt),
    target: parseTargets(targets),
    mounts: parseMountinfo(readMountinfo(files)),
  };
}

function cryptOf(lines: string[] | undefined): CryptTable | null {
  if (!lines?.length) return null;
  try {
    return parseCryptTable(lines[0]!);
  } catch {
    return null;
  }
}

/** The live volumes of a snapshot (one per dm device with an integrity segment: its first one). */
export function volumesOf(snap: DmSnapshot, files: SystemFiles = SYSTEM_FILES): LiveVolume[] {
  const out: LiveVolume[] = [];
  const byName = new Map(snap.info.map((i) => [i.name, i]));
  for (const [name, lines] of snap.integrityTables) {
    const info = byName.get(name);
    if (!info) continue; // removed between the two calls
    const segment = lines.find((l) => l.split(/\s+/)[2] === 'integrity');
    if (!segment) continue;
    let table: IntegrityTable;
    try {
      table = parseIntegrityTable(segment);
    } catch {
      continue;
    }
    const statusLine = snap.integrityStatus.get(name)?.find((l) => l.split(/\s+/)[2] === 'integrity');
    let status: IntegrityStatus | null = null;
    try {
      status = statusLine ? parseIntegrityStatus(statusLine) : null;
    } catch {
      /* shown as unknown */
    }
    const kernelName = kernelNameOf(info.devno, files) ?? `dm-${info.minor}`;
    const holders: Holder[] = holdersOf(kernelName, files).map((kn) => {
      const devno = devnoOf(kn, files) ?? '';
      const dmName = dmNameOf(kn, files);
      const dmUuid = dmUuidOf(kn, files);
      const h: Holder = { kind: 'other', devno, kernel_name: kn, mounts: snap.mounts.filter((m) => m.devno === devno) };
      if (dmName !== null) {
        h.kind = 'dm';
        h.dm_name = dmName;
        if (dmUuid) h.dm_uuid = dmUuid;
        const crypt = cryptOf(snap.cryptTables.get(dmName));
        if (crypt) {
          h.kind = 'crypt';
          h.crypt = { cipher: crypt.cipher, integrity: crypt.integrity, sector_size: crypt.sector_size };
        }
      }
      return h;
    });
    const owner = ownerOf(info.uuid, name, holders);
    const data = blockRef(table.device, files);
    const meta = table.options.meta_device ? blockRef(table.options.meta_device, files) : null;
    const cryptAbove = holders.find((h) => h.kind === 'crypt' && h.crypt?.integrity);
    const hashed = !!table.options.internal_hash && table.mode !== 'R';
    const verifiedBy = hashed ? 'dm-integrity' : cryptAbove ? 'dm-crypt' : 'nothing';
    out.push({
      name,
      kernel_name: kernelName,
      devno: info.devno,
      size_sectors: table.length,
      uuid: info.uuid,
      suspended: info.suspended,
      read_only: info.read_only,
      open_count: info.open_count,
      event_nr: info.event_nr,
      segments: info.segments,
      table,
      owner,
      data_device: data,
      meta_device: meta,
      superblock_device: (meta ?? data).path,
      holders,
      mounts: snap.mounts.filter((m) => m.devno === info.devno),
      target: snap.target,
      verified_by: verifiedBy,
      scrub_device: verifiedBy === 'dm-crypt' ? `/dev/mapper/${cryptAbove!.dm_name}` : `/dev/mapper/${name}`,
      status,
    });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** Every active integrity device. */
export async function listLiveVolumes(opts: DiscoverOptions = {}): Promise<LiveVolume[]> {
  return volumesOf(await readDmSnapshot(opts), opts.files ?? SYSTEM_FILES);
}

/** One device by its dm name, or null when no integrity device has that name (any more). */
export async function findLiveVolume(name: string, opts: DiscoverOptions = {}): Promise<LiveVolume | null> {
  return (await listLiveVolumes(opts)).find((v) => v.name === name) ?? null;
}
