// Test helper: a LiveBackend with scripted kernel devices, for the host's live tests and the dashboard's e2e
// (testing/serve-fake-live.ts). The plans are the engine's own (planControl / planActivate: refusals in the owners'
// words, questions where I/O stops); what the kernel would do is simulated: a recalculation that moves with the
// clock, suspend/resume, deactivate/activate, and a live scrub whose progress moves and finds bad blocks.
import { IntegrityStudioError } from '../engine/errors.js';
import type { FsMapItem, IntegrityMessage, LiveAvailability, LiveScrubProgress, LiveVolume, ControlPlan, ControlResult } from '../engine/api.js';
import type { LiveBackend, PlanRequest, ScrubStartOptions } from '../engine/live/service.js';
import type { LiveDamageMap } from '../engine/live/map-damage.js';
import type { LiveSample } from '../engine/live/sample.js';
import type { LiveSuperblock } from '../engine/live/superblock.js';
import type { ActivateSpec } from '../engine/live/controls.js';
import { planActivate, planControl } from '../engine/live/controls.js';
import { parseIntegrityTable } from '../engine/live/table.js';
import { targetVersion } from '../engine/live/parse.js';
import { ownerOf } from '../engine/live/owner.js';

export const AVAILABLE: LiveAvailability = {
  available: true,
  via: 'root',
  reason: null,
  dm_integrity: 'loaded',
  tools: { dmsetup: '/usr/sbin/dmsetup', integritysetup: '/usr/sbin/integritysetup', cryptsetup: '/usr/sbin/cryptsetup', pkexec: null },
};

interface FakeDevice {
  volume: LiveVolume;
  /** recalculation: sectors per second while active; position = min(total, base + rate × elapsed) */
  recalc: { base: number; since: number; rate: number } | null;
  mismatches: number;
}

const GIB = 2 * 1024 * 1024; // sectors

function volume(o: {
  name: string;
  minor: number;
  sectors: number;
  line: string;
  uuid: string;
  mounts?: LiveVolume['mounts'];
  holders?: LiveVolume['holders'];
  verified_by?: LiveVolume['verified_by'];
}): LiveVolume {
  const table = parseIntegrityTable(o.line);
  return {
    name: o.name,
    kernel_name: `dm-${o.minor}`,
    devno: `253:${o.minor}`,
    size_sectors: o.sectors,
    uuid: o.uuid,
    suspended: false,
    read_only: false,
    open_count: o.mounts?.length || o.holders?.length ? 1 : 0,
    event_nr: 0,
    segments: 1,
    table,
    owner: ownerOf(o.uuid, o.name, o.holders ?? []),
    data_device: {
      devno: table.device,
      kernel_name: `vd${String.fromCharCode(97 + o.minor)}`,
      path: `/dev/vd${String.fromCharCode(97 + o.minor)}`,
      size_sectors: o.sectors + 8192,
    },
    meta_device: null,
    superblock_device: `/dev/vd${String.fromCharCode(97 + o.minor)}`,
    holders: o.holders ?? [],
    mounts: o.mounts ?? [],
    target: targetVersion('1.10.0'),
    verified_by: o.verified_by ?? 'dm-integrity',
    scrub_device: `/dev/mapper/${o.name}`,
    status: null,
  };
}

/** The scripted devices: `data` (integritysetup, ext4 mounted on /srv/data, recalculating 2 GiB at `rate`), `quiet`
 *  (integritysetup, idle, not in use), `vault_dif` (the dm-integrity device under a LUKS2 volume, owned by
 *  cryptsetup, failures reported by dm-crypt). */
export function scriptedDevices(now: number, rate = 32768): FakeDevice[] {
  const luksUuid = '2ac4de2445444a919af8a0e3ea9af7d3';
  return [
    {
      volume: volume({
        name: 'data',
        minor: 1,
        sectors: 2 * GIB,
        uuid: 'CRYPT-INTEGRITY-data',
        line: `0 ${2 * GIB} integrity 254:16 0 4 J 9 recalculate journal_sectors:352 interleave_sectors:32768 buffer_sectors:128 journal_watermark:50 commit_time:10000 fix_padding fix_hmac internal_hash:crc32c`,
        mounts: [{ mount_point: '/srv/data', fs_type: 'ext4', source: '/dev/mapper/data', read_only: false, devno: '253:1' }],
      }),
      recalc: { base: 0, since: now, rate },
      mismatches: 3,
    },
    {
      volume: volume({
        name: 'quiet',
        minor: 2,
        sectors: 65536,
        uuid: 'CRYPT-INTEGRITY-quiet',
        line: '0 65536 integrity 254:32 0 4 B 8 journal_sectors:352 interleave_sectors:32768 buffer_sectors:128 sectors_per_bit:8192 bitmap_flush_interval:5000 fix_padding fix_hmac internal_hash:crc32c',
      }),
      recalc: null,
      mismatches: 0,
    },
    {
      volume: volume({
        name: 'vault_dif',
        minor: 3,
        sectors: 30272,
        uuid: `CRYPT-SUBDEV-${luksUuid}-vault_dif`,
        verified_by: 'dm-crypt',
        line: '0 30272 integrity 254:48 32768 32 J 6 journal_sectors:440 interleave_sectors:32768 buffer_sectors:128 journal_watermark:50 commit_time:10000 fix_padding',
        holders: [
          {
            kind: 'crypt',
            devno: '253:4',
            kernel_name: 'dm-4',
            dm_name: 'vault',
            dm_uuid: `CRYPT-LUKS2-${luksUuid}-vault`,
            crypt: { cipher: 'capi:authenc(hmac(sha256),xts(aes))-plain64', integrity: 'integrity:32:aead', sector_size: 512 },
            mounts: [{ mount_point: '/home/vault', fs_type: 'ext4', source: '/dev/mapper/vault', read_only: false, devno: '253:4' }],
          },
        ],
      }),
      recalc: null,
      mismatches: 0,
    },
  ];
}

export interface FakeLiveOptions {
  availability?: LiveAvailability;
  now?: () => number;
  /** recalculation rate of `data`, sectors/s */
  rate?: number;
  /** bad ranges a live scrub finds (at its end, or as it passes them): the bounding tests give 100 000 */
  scrubBadRanges?: number;
  /** sectors a scrub reads per second (scripted) */
  scrubRate?: number;
  /** ms between scrub progress events */
  scrubTickMs?: number;
}

export class FakeLiveBackend implements LiveBackend {
  readonly devices = new Map<string, FakeDevice>();
  /** every status() call, by name (lease tests count them) */
  readonly statusCalls: string[] = [];
  /** activation specs as given, keys copied (the test checks the held keys arrived here) */
  readonly activations: ActivateSpec[] = [];
  /** controls run (confirmed or not asked) */
  readonly ran: Array<{ action: string; name: string }> = [];
  private readonly listeners = new Set<(p: LiveScrubProgress) => void>();
  private readonly scrubs = new Map<string, { progress: LiveScrubProgress; timer: NodeJS.Timeout | null }>();
  private readonly now: () => number;

  constructor(private readonly o: FakeLiveOptions = {}) {
    this.now = o.now ?? Date.now;
    for (const d of scriptedDevices(this.now(), o.rate)) this.devices.set(d.volume.name, d);
  }

  private position(d: FakeDevice): number | null {
    if (!d.recalc) return null;
    const total = d.volume.table.length;
    const moving = d.volume.suspended ? 0 : ((this.now() - d.recalc.since) / 1000) * d.recalc.rate;
    return Math.min(total, Math.floor(d.recalc.base + moving));
  }

  private freeze(d: FakeDevice): void {
    if (d.recalc) d.recalc = { ...d.recalc, base: this.position(d) ?? 0, since: this.now() };
  }

  private statusOf(d: FakeDevice) {
    return { mismatches: d.mismatches, provided_data_sectors: d.volume.table.length, recalc_sector: this.position(d) };
  }

  private get(name: string): FakeDevice {
    const d = this.devices.get(name);
    if (!d) throw new IntegrityStudioError(`no active integrity device is named ${name}`, 'ENOENT');
    return d;
  }

  async availability(): Promise<LiveAvailability> {
    return this.o.availability ?? AVAILABLE;
  }

  async list(): Promise<LiveVolume[]> {
    return [...this.devices.values()].map((d) => ({ ...d.volume, status: this.statusOf(d) }));
  }

  async status(name: string): Promise<LiveSample> {
    this.statusCalls.push(name);
    const d = this.devices.get(name);
    const t = this.now();
    if (!d) return { t, name, present: false };
    const st = this.statusOf(d);
    return {
      t,
      name,
      present: true,
      devno: d.volume.devno,
      uuid: d.volume.uuid,
      suspended: d.volume.suspended,
      open_count: d.volume.open_count,
      event_nr: 0,
      table_line: d.volume.table.line,
      status: st,
      superblock: this.superblockOf(d),
    };
  }

  private superblockOf(d: FakeDevice): LiveSuperblock {
    const pos = this.position(d);
    // the kernel persists its position every 16 chunks of 32768 sectors
    const persisted = pos === null ? 0 : pos - (pos % (16 * 32768));
    return {
      version: 2,
      flags: pos === null ? 1 : 3,
      flag_names: pos === null ? ['have_journal_mac'] : ['have_journal_mac', 'recalculating'],
      provided_data_sectors: d.volume.table.length,
      recalculating: pos !== null,
      recalc_sector: persisted,
      dirty_bitmap: false,
      integrity_tag_size: d.volume.table.tag_size,
      log2_sectors_per_block: 0,
      log2_blocks_per_bitmap_bit: 0,
      journal_sections: 16,
      volume_id: `fake-${d.volume.name}`,
    };
  }

  async readSuperblock(name: string): Promise<LiveSuperblock> {
    return this.superblockOf(this.get(name));
  }

  async kernelLog(name: string): Promise<IntegrityMessage[]> {
    const d = this.get(name);
    const crypt = d.volume.holders.find((h) => h.kind === 'crypt');
    if (!crypt) return [];
    return [0, 1, 2].map((i) => ({
      kind: 'aead' as const,
      device: crypt.kernel_name,
      sector: 801,
      seq: 100 + i,
      usec: 5_000_000 + i,
      text: `device-mapper: crypt: ${crypt.kernel_name}: INTEGRITY AEAD ERROR, sector 801`,
    }));
  }

  async plan(req: PlanRequest): Promise<ControlPlan> {
    if (req.action === 'activate') return planActivate(req.spec, await this.list());
    const d = this.devices.get(req.name);
    return planControl(req.action, d ? { ...d.volume, status: this.statusOf(d) } : null, req.name);
  }

  async control(req: PlanRequest, confirm: boolean): Promise<ControlResult> {
    const plan = await this.plan(req);
    if (plan.refused) throw new IntegrityStudioError(plan.refused, 'EREFUSED');
    if (plan.confirm && !confirm) throw new IntegrityStudioError(plan.confirm, 'ECONFIRM');
    if (req.action === 'activate') {
      const s = req.spec;
      const copy = (k: ActivateSpec['integrityKey']) => (k && 'bytes' in k ? { bytes: new Uint8Array(k.bytes) } : k);
      this.activations.push({
        ...s,
        integrityKey: copy(s.integrityKey),
        journalIntegrityKey: copy(s.journalIntegrityKey),
        journalCryptKey: copy(s.journalCryptKey),
      });
      this.ran.push({ action: 'activate', name: s.name });
      const minor = 10 + this.devices.size;
      const d: FakeDevice = {
        volume: volume({
          name: s.name,
          minor,
          sectors: 65536,
          uuid: `CRYPT-INTEGRITY-${s.name}`,
          line: `0 65536 integrity 254:${minor * 16} 0 4 J 1 internal_hash:${s.integrity === 'sha256' ? 'sha256' : 'crc32c'}`,
        }),
        recalc: s.recalculate || s.recalculateReset ? { base: 0, since: this.now(), rate: this.o.rate ?? 32768 } : null,
        mismatches: 0,
      };
      // integritysetup open on an image file attaches it to a loop device first
      d.volume = {
        ...d.volume,
        data_device: { ...d.volume.data_device, kernel_name: 'loop0', path: '/dev/loop0', loop_file: s.device },
        superblock_device: '/dev/loop0',
      };
      this.devices.set(s.name, d);
      return { plan, before: null, after: this.statusOf(d), reloaded: false, message: `${s.name} is active` };
    }
    const d = this.get(req.name);
    this.ran.push({ action: req.action, name: req.name });
    const before = this.statusOf(d);
    let reloaded = false;
    switch (req.action) {
      case 'deactivate':
        this.devices.delete(req.name);
        return { plan, before, after: null, reloaded, message: `${req.name} is no longer active` };
      case 'suspend':
        this.freeze(d);
        d.volume = { ...d.volume, suspended: true };
        break;
      case 'resume':
        this.freeze(d);
        d.volume = { ...d.volume, suspended: false };
        break;
      case 'recalc-start':
        d.recalc = { base: 0, since: this.now(), rate: this.o.rate ?? 32768 };
        d.mismatches = 0;
        reloaded = true;
        break;
      case 'recalc-reset':
        d.recalc = { base: 0, since: this.now(), rate: d.recalc?.rate ?? this.o.rate ?? 32768 };
        d.mismatches = 0;
        reloaded = true;
        break;
    }
    return { plan, before, after: this.statusOf(d), reloaded, message: `${req.action} done` };
  }

  async scrubStart(name: string, opts: ScrubStartOptions = {}): Promise<LiveScrubProgress> {
    const d = this.get(name);
    const running = this.scrubs.get(name);
    if (running?.timer) throw new IntegrityStudioError(`a live scrub of ${name} is already running`, 'EBUSY');
    const total = d.volume.table.length;
    const start = !opts.reset && running ? running.progress.position_sector : 0;
    const rate = Math.min(this.o.scrubRate ?? 65536, opts.maxBytesPerSecond ? opts.maxBytesPerSecond / 512 : Infinity);
    const p: LiveScrubProgress = {
      job: 'live-scrub',
      name,
      device: d.volume.scrub_device ?? `/dev/mapper/${name}`,
      state: 'running',
      position_sector: start,
      total_sectors: total,
      start_sector: start,
      sectors_per_block: 8,
      bytes_per_second: rate * 512,
      eta_ms: ((total - start) / rate) * 1000,
      checked_blocks: start / 8,
      bad_blocks: 0,
      bad_ranges: [],
      read_errors: 0,
      read_error_ranges: [],
      unchecked_blocks: 0,
      unchecked: [],
      verified_by: d.volume.verified_by,
      failed_reads: 0,
      kernel_mismatches: { at_start: d.mismatches, now: d.mismatches, increase: 0, table_loads_seen: 0 },
      kernel_messages: [],
      kernel_messages_lost: false,
      started_at: new Date(this.now()).toISOString(),
      state_file: `/var/lib/integrity-studio/live-scrub.${name}.json`,
    };
    const entry = { progress: p, timer: null as NodeJS.Timeout | null };
    this.scrubs.set(name, entry);
    const tickMs = this.o.scrubTickMs ?? 250;
    entry.timer = setInterval(() => {
      const cur = entry.progress;
      const pos = Math.min(total, cur.position_sector + Math.ceil((rate * tickMs) / 1000));
      const recalcAt = this.position(d);
      const next: LiveScrubProgress = { ...cur, position_sector: pos, checked_blocks: Math.floor(pos / 8), eta_ms: ((total - pos) / rate) * 1000 };
      // the bad blocks: one at sector 801 (as the guests' corrupted sector), and, when scripted, many more
      if (cur.position_sector <= 800 && pos > 800) {
        next.bad_blocks = 1;
        next.bad_ranges = [[800, 808]];
        next.failed_reads = 12;
        next.kernel_mismatches = { ...cur.kernel_mismatches, now: d.mismatches + 12, increase: 12 };
        d.mismatches += 12;
      }
      const n = this.o.scrubBadRanges ?? 0;
      if (n > 0 && next.bad_ranges.length < n) {
        next.bad_ranges = Array.from({ length: n }, (_, i) => [i * 16, i * 16 + 8] as [number, number]);
        next.bad_blocks = n;
        next.kernel_messages = Array.from({ length: 500 }, (_, i) => ({
          kind: 'checksum' as const,
          device: d.volume.kernel_name,
          sector: i * 16,
          seq: i,
          usec: i,
          text: `device-mapper: integrity: ${d.volume.kernel_name}: Checksum failed at sector 0x${(i * 16).toString(16)}`,
        }));
      }
      if (recalcAt !== null && recalcAt < total) {
        const past = Math.max(0, Math.floor((total - Math.max(recalcAt, pos)) / 8));
        next.unchecked = past ? [{ reason: 'recalculating', blocks: past }] : [];
        next.unchecked_blocks = past;
      }
      if (pos >= total) {
        next.state = 'done';
        next.eta_ms = 0;
        clearInterval(entry.timer!);
        entry.timer = null;
      }
      entry.progress = next;
      for (const l of this.listeners) l(next);
    }, tickMs);
    entry.timer.unref();
    for (const l of this.listeners) l(p);
    return p;
  }

  async scrubPause(name: string): Promise<LiveScrubProgress> {
    const e = this.scrubs.get(name);
    if (!e?.timer) throw new IntegrityStudioError(`no live scrub of ${name} is running`, 'ENOENT');
    clearInterval(e.timer);
    e.timer = null;
    e.progress = { ...e.progress, state: 'paused', bytes_per_second: 0, eta_ms: null };
    for (const l of this.listeners) l(e.progress);
    return e.progress;
  }

  async scrubProgress(name: string): Promise<LiveScrubProgress | null> {
    return this.scrubs.get(name)?.progress ?? null;
  }

  /** what the scripted bad block (sectors 800–807 of `data`, an ext4 mounted on /srv/data) holds: 4 KiB of a photo */
  mapCalls = 0;
  async mapDamage(name: string): Promise<LiveDamageMap> {
    const p = this.scrubs.get(name)?.progress;
    if (!p) throw new IntegrityStudioError(`no live scrub of ${name} has run here, so no damage is known: start one first`, 'ENOENT');
    this.mapCalls++;
    const bad = p.bad_ranges.reduce((n, [a, b]) => n + b - a, 0);
    const file: FsMapItem = {
      kind: 'file',
      ranges: [[800, 808]],
      ranges_total: 1,
      sectors: 8,
      inode: 1312,
      file_type: 'regular',
      paths: ['/photos/2026/img_0412.jpg'],
      paths_total: 1,
      size: 2_811_904,
      byte_ranges: [[200_704, 204_800]],
      byte_ranges_total: 1,
      extents: [[800, 808, 200_704]],
      extents_total: 1,
      unwritten_bytes: 0,
      beyond_eof_bytes: 0,
      meaning: 'these bytes of the file cannot be read (the kernel returns an error): restore the file from a backup',
    };
    return {
      name,
      device: p.device,
      scrub_updated: new Date(this.now()).toISOString(),
      result: {
        fs: 'ext4',
        fs_description: 'ext4 (64bit, extents, flex_bg, metadata_csum)',
        block_size: 4096,
        may_be_stale: 'the file system is mounted and may be writing: this is what it held when it was read',
        bad_sectors: bad,
        items: p.bad_ranges.some(([a]) => a === 800) ? [file] : [],
        files_damaged: 1,
        metadata_items: 0,
        free_sectors: 0,
        unmapped_sectors: 0,
        relied_on_damaged: [],
        stats: { blocks_read: 41, inodes_scanned: 2048, directories_scanned: 12, method: 'scan', elapsed_ms: 3 },
      },
    };
  }

  onScrubProgress(listener: (p: LiveScrubProgress) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    for (const name of this.scrubs.keys()) if (this.scrubs.get(name)?.timer) await this.scrubPause(name);
  }
}
