// Controls of the kernel's integrity devices: what integritysetup and dmsetup do, run as child processes, each with
// its equivalent shell command (keys only as --*-key-file arguments, or piped from `dmsetup table --showkeys` to
// `dmsetup reload`), what it costs, and whether it must be confirmed. The kernel has no pause for its
// recalculation (dm-integrity.c has no message interface, no throttle): the ways to stop it are suspend (drains the
// recalculation, persists its position, and blocks ALL I/O until resume) and deactivate (persists the position and
// ends access; the next activation continues). A reload without `recalculate` does not stop it (the flag is in the
// superblock; checked in the 6.1 guest). reset_recalculate restarts from 0 on every resume of the table holding it,
// so after a restart the table is reloaded again without it.
import type { VolumeMode } from '../api.js';
import fs from 'node:fs';
import { IntegrityStudioError } from '../errors.js';
import type { IntegrityStatus, LiveVolume, MountInfo } from './types.js';
import { editKeyedTable, parseIntegrityTable, sedForEdit, type FlagOption } from './table.js';
import { parseIntegrityStatus } from './parse.js';
import { findLiveVolume, listLiveVolumes } from './discover.js';
import { systemRunner, SYSTEM_FILES, withSecretFifos, type SystemFiles, type ToolRunner } from './system.js';
import { scrubSecrets, shellCommand, shellPipeline, toolSaid } from './shell.js';
import { KmsgReader } from './kmsg.js';
import type { ControlAction, ControlPlan, ControlResult } from './wire.js';

export type { ControlAction, ControlPlan, ControlResult } from './wire.js';

/** A key for activation: a file the caller may read (shown as is), or bytes (handed to integritysetup through a
 *  FIFO in a private folder, never a file on disk; shown as a placeholder). */
export type KeySource = { file: string } | { bytes: Uint8Array };

export interface ActivateSpec {
  /** the device holding the superblock (the metadata device when dataDevice is given), as integritysetup open's */
  device: string;
  name: string;
  dataDevice?: string;
  /** integritysetup's names: crc32c (default), sha256, hmac-sha256, … */
  integrity?: string;
  integrityKey?: KeySource;
  journalIntegrity?: string;
  journalIntegrityKey?: KeySource;
  journalCrypt?: string;
  journalCryptKey?: KeySource;
  mode?: VolumeMode | 'recovery';
  bitmapSectorsPerBit?: number;
  bitmapFlushTimeMs?: number;
  journalWatermark?: number;
  journalCommitTimeMs?: number;
  bufferSectors?: number;
  allowDiscards?: boolean;
  /** --integrity-recalculate: the kernel recomputes tags from recalc_sector (from 0 if the flag was not set) */
  recalculate?: boolean;
  /** --integrity-recalculate-reset: from sector 0 whatever the superblock says (target 1.8) */
  recalculateReset?: boolean;
  legacyRecalculate?: boolean;
}

export type ControlRequest = { action: 'activate'; spec: ActivateSpec } | { action: Exclude<ControlAction, 'activate'>; name: string };

export interface ControlOptions {
  runner?: ToolRunner;
  files?: SystemFiles;
  /** the user confirmed plan.confirm */
  confirm?: boolean;
  /** read /dev/kmsg around a failing reload to give the kernel's reason (default true) */
  kmsg?: boolean;
}

const DM_NAME = /^[A-Za-z0-9#+\-.:=@_]{1,127}$/;

export function validDmName(name: string): boolean {
  return DM_NAME.test(name) && name !== '.' && name !== '..';
}

/** Mounts and holders that make a device busy, in words. */
export function usersOf(v: LiveVolume): { mounts: MountInfo[]; words: string | null } {
  const mounts = [...v.mounts, ...v.holders.flatMap((h) => h.mounts)];
  const parts: string[] = [];
  for (const m of mounts) parts.push(`mounted at ${m.mount_point} (${m.fs_type})`);
  for (const h of v.holders) {
    if (!h.mounts.length) parts.push(`held by ${h.dm_name ?? h.kernel_name}${h.kind === 'crypt' ? ' (dm-crypt)' : ''}`);
  }
  if (!parts.length && v.open_count > 0) parts.push(`open by ${v.open_count === 1 ? 'a process' : `${v.open_count} processes`}`);
  return { mounts, words: parts.length ? parts.join(', ') : null };
}

function ownerRefusal(v: LiveVolume, action: ControlAction): string | null {
  const o = v.owner;
  if (o.kind === 'lvm' && o.lvm) {
    const lv = `${o.lvm.vg}/${o.lvm.lv}`;
    const instead: Record<string, string> = {
      deactivate: `lvchange -an ${lv}`,
      suspend: `lvchange -an ${lv} (LVM has no suspend of its own for users)`,
      resume: `lvchange -ay ${lv}`,
      'recalc-start': `lvconvert --raidintegrity y ${lv} (integrity is added and initialised by LVM) or lvchange --syncaction check ${lv} to check the raid`,
      'recalc-reset': `lvchange --syncaction repair ${lv}`,
    };
    return `${v.name} is the integrity layer of the LVM raid LV ${lv}: LVM loads its tables and would undo a change made here. Use LVM: ${instead[action] ?? `lvchange ${lv}`}.`;
  }
  if (o.kind === 'luks2') {
    const luks = o.luks?.name ?? 'the LUKS2 device';
    const instead: Record<string, string> = {
      deactivate: `cryptsetup close ${luks} (closes dm-crypt and this integrity device together)`,
      suspend: `cryptsetup luksSuspend ${luks} (which also wipes the volume key from memory; cryptsetup luksResume asks for it again)`,
      resume: `cryptsetup luksResume ${luks}`,
      'recalc-start': `nothing: this device has no internal hash, dm-crypt above it writes and checks the tags`,
      'recalc-reset': `nothing: this device has no internal hash, dm-crypt above it writes and checks the tags`,
    };
    return `${v.name} is the integrity layer under the LUKS2 device ${luks}, managed by cryptsetup. Use ${instead[action] ?? 'cryptsetup'}.`;
  }
  return null;
}

function recalcRefusal(v: LiveVolume, action: 'recalc-start' | 'recalc-reset'): string | null {
  const t = v.table;
  if (!t.options.internal_hash) return `${v.name} has no internal hash: its tags are written by the layer above it, the kernel has nothing to recalculate.`;
  if (t.mode === 'R') return `${v.name} is open in recovery mode (R): no tag is checked or written; reopen it in another mode first.`;
  if (v.read_only) return `${v.name} is read-only: the kernel cannot write recalculated tags.`;
  if (v.segments !== 1) return `${v.name} has ${v.segments} table segments: only a single integrity segment can be reloaded here.`;
  const tv = v.target;
  if (tv && !tv.features.recalculate) return `the kernel's dm-integrity target is ${tv.text}: recalculation needs 1.2 or later.`;
  if (action === 'recalc-reset' && tv && !tv.features.reset_recalculate)
    return `the kernel's dm-integrity target is ${tv.text}: restarting a recalculation (reset_recalculate) needs 1.8 or later (Linux 5.13).`;
  // dm_integrity_disable_recalculate: keyed tags are only recalculated when an attacker could not forge them
  const keyed = !!t.options.internal_hash.keyed;
  const jmacKeyed = !!t.options.journal_mac?.keyed;
  if (!t.options.legacy_recalculate && (t.options.fix_hmac ? keyed && !jmacKeyed : keyed || jmacKeyed)) {
    return `the kernel refuses to recalculate ${t.options.internal_hash.name} tags ${t.options.fix_hmac ? 'without a journal MAC key' : 'of a volume without fix_hmac'} ("Recalculating with HMAC is disabled for security reasons"); wipe instead, or reopen with --integrity-legacy-recalculate if you accept that risk.`;
  }
  const s = v.status;
  if (action === 'recalc-start' && s && s.recalc_sector !== null) {
    if (s.recalc_sector < s.provided_data_sectors) return `${v.name} is already recalculating (sector ${s.recalc_sector} of ${s.provided_data_sectors}).`;
    return `the recalculation of ${v.name} is finished (the kernel keeps the flag with recalc_sector = provided_data_sectors): use Restart to recompute every tag from sector 0.`;
  }
  return null;
}

const RELOAD_COST =
  "The table is swapped: all I/O to the device pauses while the kernel suspends it (in-flight I/O completes, the journal is written back, a file system on it is frozen), usually well under a second; the kernel's mismatch counter restarts at 0 (the dashboard keeps its own total).";

function reloadCommands(v: LiveVolume, edit: { add?: FlagOption[]; remove?: FlagOption[] }): string[] {
  return [
    shellPipeline(['dmsetup', 'table', '--showkeys', v.name], sedForEdit(v.table, edit), ['dmsetup', 'reload', v.name]),
    shellCommand(['dmsetup', 'resume', v.name]),
  ];
}

/** What a control of an active device would run and cost, or why it is refused. Pure. */
export function planControl(action: Exclude<ControlAction, 'activate'>, v: LiveVolume | null, name: string): ControlPlan {
  const plan: ControlPlan = { action, name, commands: [], cost: '', confirm: null, refused: null };
  if (!v) {
    plan.refused = `no active integrity device is named ${name}.`;
    return plan;
  }
  const users = usersOf(v);
  const busy = users.words;
  switch (action) {
    case 'deactivate': {
      plan.commands = [shellCommand(v.owner.kind === 'integritysetup' ? ['integritysetup', 'close', v.name] : ['dmsetup', 'remove', v.name])];
      plan.cost =
        'Ends access: the device is removed. A running recalculation stops at a chunk boundary and its position is persisted in the superblock; the next activation continues from there. The journal is written back first.';
      if (busy)
        plan.refused = `${v.name} is in use (${busy}): the kernel refuses to remove it. ${users.mounts.length ? `Unmount it first (umount ${users.mounts.map((m) => m.mount_point).join(' ')}).` : 'Close what holds it first.'}`;
      break;
    }
    case 'recalc-start':
    case 'recalc-reset': {
      plan.refused = recalcRefusal(v, action);
      if (action === 'recalc-start') {
        plan.commands = reloadCommands(v, { add: ['recalculate'] });
        plan.cost = `The kernel recomputes every tag from sector 0 chunk by chunk (32768 sectors on Linux 6.1 and 6.12) at the device's full speed (it has no rate limit) and persists its position every 16 chunks. Reads at or past the position are not verified until it passes them. ${RELOAD_COST}`;
      } else {
        plan.commands = [
          ...reloadCommands(v, { add: ['recalculate', 'reset_recalculate'] }),
          ...reloadCommands(
            {
              ...v,
              table: {
                ...v.table,
                options: { ...v.table.options, recalculate: true, reset_recalculate: true },
                line: withFlags(v.table.line, ['recalculate', 'reset_recalculate']),
              },
            },
            { remove: ['reset_recalculate'] },
          ),
        ];
        plan.cost = `The recalculation starts again from sector 0: every tag is recomputed from the data as it is now, so a block whose data was silently corrupted gets a valid tag again (scrub first if that matters). Reads at or past the position are not verified until it passes them. The table is then reloaded once more without reset_recalculate, which would otherwise restart it on every resume. ${RELOAD_COST} (twice)`;
      }
      if (busy) plan.confirm = `${v.name} is in use (${busy}). Reloading its table pauses all of its I/O for a moment, twice for a restart. Continue?`;
      break;
    }
    case 'suspend': {
      plan.commands = [shellCommand(['dmsetup', 'suspend', v.name])];
      plan.cost =
        "All I/O to the device blocks until it is resumed: programs reading or writing it (or the file system on it, which is frozen first) wait, however long that is. The kernel's recalculation stops at a chunk boundary and persists its position; resume continues it. This is the only way to stop the recalculation and keep the device; the kernel has no pause of the recalculation alone.";
      if (v.suspended) plan.refused = `${v.name} is already suspended.`;
      if (busy) plan.confirm = `${v.name} is in use (${busy}). Suspending it blocks every program using it until you resume it. Continue?`;
      break;
    }
    case 'resume': {
      plan.commands = [shellCommand(['dmsetup', 'resume', v.name])];
      plan.cost = 'I/O to the device continues; a recalculation continues from its persisted position.';
      if (!v.suspended) plan.refused = `${v.name} is not suspended.`;
      break;
    }
  }
  plan.refused = ownerRefusal(v, action) ?? plan.refused;
  return plan;
}

function withFlags(line: string, flags: string[]): string {
  const t = line.split(' ');
  const opts = t.slice(8).filter((o) => !flags.includes(o));
  return [...t.slice(0, 7), String(opts.length + flags.length), ...flags, ...opts].join(' ');
}

/** integritysetup open's arguments; `key(kind)` gives each key file argument (a path, a placeholder, /dev/fd/N). */
export function integritysetupOpenArgs(
  spec: ActivateSpec,
  key: (kind: 'integrity' | 'journal-integrity' | 'journal-crypt', k: KeySource) => { file: string; size: number },
): string[] {
  const a: string[] = ['integritysetup', 'open', spec.device, spec.name];
  if (spec.dataDevice) a.push('--data-device', spec.dataDevice);
  if (spec.integrity && spec.integrity !== 'crc32c') a.push('--integrity', spec.integrity);
  const keyArgs = (kind: 'integrity' | 'journal-integrity' | 'journal-crypt', k: KeySource | undefined) => {
    if (!k) return;
    const { file, size } = key(kind, k);
    a.push(`--${kind}-key-file`, file, `--${kind}-key-size`, String(size));
  };
  keyArgs('integrity', spec.integrityKey);
  if (spec.journalIntegrity) a.push('--journal-integrity', spec.journalIntegrity);
  keyArgs('journal-integrity', spec.journalIntegrityKey);
  if (spec.journalCrypt) a.push('--journal-crypt', spec.journalCrypt);
  keyArgs('journal-crypt', spec.journalCryptKey);
  if (spec.mode === 'bitmap') {
    a.push('--integrity-bitmap-mode');
    if (spec.bitmapSectorsPerBit) a.push('--bitmap-sectors-per-bit', String(spec.bitmapSectorsPerBit));
    if (spec.bitmapFlushTimeMs) a.push('--bitmap-flush-time', String(spec.bitmapFlushTimeMs));
  } else if (spec.mode === 'direct') a.push('--integrity-no-journal');
  else if (spec.mode === 'recovery') a.push('--integrity-recovery-mode');
  if (spec.journalWatermark !== undefined) a.push('--journal-watermark', String(spec.journalWatermark));
  if (spec.journalCommitTimeMs !== undefined) a.push('--journal-commit-time', String(spec.journalCommitTimeMs));
  if (spec.bufferSectors !== undefined) a.push('--buffer-sectors', String(spec.bufferSectors));
  if (spec.allowDiscards) a.push('--allow-discards');
  if (spec.recalculate) a.push('--integrity-recalculate');
  if (spec.recalculateReset) a.push('--integrity-recalculate-reset');
  if (spec.legacyRecalculate) a.push('--integrity-legacy-recalculate');
  return a;
}

const PLACEHOLDER = { integrity: 'INTEGRITY_KEY_FILE', 'journal-integrity': 'JOURNAL_INTEGRITY_KEY_FILE', 'journal-crypt': 'JOURNAL_CRYPT_KEY_FILE' } as const;

function keySize(k: KeySource): number {
  if ('bytes' in k) return k.bytes.length;
  try {
    return fs.statSync(k.file).size;
  } catch {
    throw new IntegrityStudioError(`cannot read the key file ${k.file}`, 'ENOENT');
  }
}

export function planActivate(spec: ActivateSpec, active: readonly LiveVolume[]): ControlPlan {
  const plan: ControlPlan = { action: 'activate', name: spec.name, commands: [], cost: '', confirm: null, refused: null };
  plan.commands = [
    shellCommand(
      integritysetupOpenArgs(spec, (kind, k) => ({ file: 'file' in k ? k.file : PLACEHOLDER[kind], size: 'file' in k ? safeSize(k) : k.bytes.length })),
    ),
  ];
  const from = spec.recalculateReset ? 'sector 0' : "the superblock's recalc_sector (0 when the flag was not set)";
  const recalc =
    spec.recalculate || spec.recalculateReset
      ? ` The kernel then recomputes tags from ${from} at the device's full speed; reads at or past its position are not verified until it passes them.`
      : '';
  plan.cost = `Creates /dev/mapper/${spec.name}: the kernel replays the journal, then verifies every read.${recalc}`;
  if (!validDmName(spec.name)) plan.refused = `"${spec.name}" is not a usable device-mapper name (letters, digits and #+-.:=@_ only, at most 127).`;
  else if (active.some((v) => v.name === spec.name)) plan.refused = `an integrity device named ${spec.name} is already active.`;
  for (const k of [spec.integrityKey, spec.journalIntegrityKey, spec.journalCryptKey]) {
    if (k && 'bytes' in k && k.bytes.length === 0) plan.refused = 'an empty key was given.';
  }
  return plan;
}

function safeSize(k: { file: string }): number {
  try {
    return fs.statSync(k.file).size;
  } catch {
    return 0;
  }
}

async function status(runner: ToolRunner, name: string): Promise<IntegrityStatus | null> {
  const r = await runner.run('dmsetup', ['status', name]);
  if (r.status !== 0) return null;
  const line = r.stdout
    .toString('utf8')
    .split('\n')
    .find((l) => l.split(/\s+/)[2] === 'integrity');
  return line ? parseIntegrityStatus(line) : null;
}

function failure(what: string, r: { stderr: string }, kernel: string[]): IntegrityStudioError {
  const said = toolSaid(r.stderr);
  const why = kernel.length ? `; the kernel said: ${kernel.map(scrubSecrets).join('; ')}` : '';
  return new IntegrityStudioError(`${what}: ${said}${why}`, 'EDMCONTROL');
}

/** Kernel messages logged while `fn` ran (dm table errors say why a load failed), when /dev/kmsg is readable. */
async function withKernelLog<T>(enabled: boolean, fn: (kernel: () => string[]) => Promise<T>): Promise<T> {
  let reader: KmsgReader | null = null;
  if (enabled) {
    try {
      reader = new KmsgReader().open();
    } catch {
      reader = null;
    }
  }
  const kernel = () =>
    reader
      ? reader
          .poll()
          .filter((r) => /device-mapper/.test(r.text) && r.priority <= 4)
          .map((r) => r.text.replace(/^.*?device-mapper: /, ''))
      : [];
  try {
    return await fn(kernel);
  } finally {
    reader?.close();
  }
}

/** dmsetup table --showkeys → edit → dmsetup reload (stdin) → dmsetup resume. Key bytes are zeroed after use. */
async function reloadTable(runner: ToolRunner, name: string, edit: { add?: FlagOption[]; remove?: FlagOption[] }, kmsg: boolean): Promise<void> {
  await withKernelLog(kmsg, async (kernel) => {
    const keyed = await runner.run('dmsetup', ['table', '--showkeys', name]);
    let next: Buffer | null = null;
    try {
      if (keyed.status !== 0) throw failure(`dmsetup table ${name}`, keyed, []);
      next = editKeyedTable(keyed.stdout, edit);
      const r = await runner.run('dmsetup', ['reload', name], { stdin: next });
      if (r.status !== 0) {
        await runner.run('dmsetup', ['clear', name]);
        throw failure(`dmsetup reload ${name}`, r, kernel());
      }
    } finally {
      keyed.stdout.fill(0);
      next?.fill(0);
    }
    const r = await runner.run('dmsetup', ['resume', name]);
    if (r.status !== 0) throw failure(`dmsetup resume ${name}`, r, kernel());
  });
}

async function keylessTable(runner: ToolRunner, name: string) {
  const r = await runner.run('dmsetup', ['table', name]);
  const line = r.stdout
    .toString('utf8')
    .split('\n')
    .find((l) => l.split(/\s+/)[2] === 'integrity');
  r.stdout.fill(0);
  return line ? parseIntegrityTable(line) : null;
}

/** Plans, checks and runs a control. Refused plans and unconfirmed ones throw an IntegrityStudioError whose
 *  message is plan.refused / plan.confirm. */
export async function runControl(req: ControlRequest, opts: ControlOptions = {}): Promise<ControlResult> {
  const runner = opts.runner ?? systemRunner;
  const files = opts.files ?? SYSTEM_FILES;
  const kmsg = opts.kmsg ?? true;
  if (req.action === 'activate') return activate(req.spec, runner, files, kmsg);
  const v = await findLiveVolume(req.name, { runner, files });
  const plan = planControl(req.action, v, req.name);
  if (plan.refused) throw new IntegrityStudioError(plan.refused, 'EREFUSED', { detail: { action: req.action, name: req.name } });
  if (plan.confirm && !opts.confirm) throw new IntegrityStudioError(plan.confirm, 'ECONFIRM', { detail: { action: req.action, name: req.name } });
  const before = await status(runner, req.name);
  const result: ControlResult = { plan, before, after: null, reloaded: false, message: '' };
  switch (req.action) {
    case 'deactivate': {
      const argv = v!.owner.kind === 'integritysetup' ? ['close', req.name] : ['remove', req.name];
      const r = await runner.run(v!.owner.kind === 'integritysetup' ? 'integritysetup' : 'dmsetup', argv);
      if (r.status !== 0) throw failure(`${v!.owner.kind === 'integritysetup' ? 'integritysetup close' : 'dmsetup remove'} ${req.name}`, r, []);
      result.message = `${req.name} deactivated${before?.recalc_sector != null && before.recalc_sector < before.provided_data_sectors ? `; the recalculation's position is kept in the superblock` : ''}.`;
      return result;
    }
    case 'suspend':
    case 'resume': {
      const r = await runner.run('dmsetup', [req.action, req.name]);
      if (r.status !== 0) throw failure(`dmsetup ${req.action} ${req.name}`, r, []);
      result.after = await status(runner, req.name);
      result.message = req.action === 'suspend' ? `${req.name} suspended: all of its I/O waits until it is resumed.` : `${req.name} resumed.`;
      return result;
    }
    case 'recalc-start': {
      await reloadTable(runner, req.name, { add: ['recalculate'] }, kmsg);
      result.reloaded = true;
      result.after = await status(runner, req.name);
      result.message = `recalculation of ${req.name} started${result.after?.recalc_sector != null ? ` (at sector ${result.after.recalc_sector} of ${result.after.provided_data_sectors})` : ''}.`;
      return result;
    }
    case 'recalc-reset': {
      await reloadTable(runner, req.name, { add: ['recalculate', 'reset_recalculate'] }, kmsg);
      result.reloaded = true;
      result.after_reset = await status(runner, req.name);
      // never leave reset_recalculate live: every resume of that table would start from 0 again
      try {
        await reloadTable(runner, req.name, { remove: ['reset_recalculate'] }, kmsg);
      } catch (e) {
        throw new IntegrityStudioError(
          `the recalculation of ${req.name} restarted, but reloading its table without reset_recalculate failed (${(e as Error).message}): every resume will restart it until this is run: ${plan.commands.slice(2).join(' && ')}`,
          'EDMCONTROL',
        );
      }
      const t = await keylessTable(runner, req.name);
      if (t?.options.reset_recalculate)
        throw new IntegrityStudioError(
          `reset_recalculate is still in the live table of ${req.name}; run: ${plan.commands.slice(2).join(' && ')}`,
          'EDMCONTROL',
        );
      result.after = await status(runner, req.name);
      const p1 = result.after_reset?.recalc_sector ?? null;
      const p2 = result.after?.recalc_sector ?? null;
      if (p1 !== null && p2 !== null && p2 < p1) {
        throw new IntegrityStudioError(
          `after the second reload the recalculation of ${req.name} went back from ${p1} to ${p2}: it restarted again`,
          'EDMCONTROL',
        );
      }
      result.message = `recalculation of ${req.name} restarted from sector 0 (now at ${p2 ?? '?'} of ${result.after?.provided_data_sectors ?? '?'}); the live table no longer has reset_recalculate.`;
      return result;
    }
  }
}

async function activate(spec: ActivateSpec, runner: ToolRunner, files: SystemFiles, kmsg: boolean): Promise<ControlResult> {
  const active = await listLiveVolumes({ runner, files });
  const plan = planActivate(spec, active);
  if (plan.refused) throw new IntegrityStudioError(plan.refused, 'EREFUSED', { detail: { action: 'activate', name: spec.name } });
  const secrets: Buffer[] = [];
  const kinds: KeySource[] = [spec.integrityKey, spec.journalIntegrityKey, spec.journalCryptKey].filter((k): k is KeySource => !!k);
  for (const k of kinds) if ('bytes' in k) secrets.push(Buffer.from(k.bytes));
  try {
    await withSecretFifos(secrets, async (fifos) => {
      let next = 0;
      const argv = integritysetupOpenArgs(spec, (_kind, k) =>
        'file' in k ? { file: k.file, size: keySize(k) } : { file: fifos[next++]!, size: k.bytes.length },
      );
      await withKernelLog(kmsg, async (kernel) => {
        const r = await runner.run('integritysetup', argv.slice(1));
        if (r.status !== 0) throw failure(`integritysetup open ${spec.device} ${spec.name}`, r, kernel());
      });
    });
  } finally {
    for (const b of secrets) b.fill(0);
  }
  const after = await status(runner, spec.name);
  return { plan, before: null, after, reloaded: false, message: `${spec.name} is active (/dev/mapper/${spec.name}).` };
}
