// The words for volume states and for what the last scrub established (zpool status / btrfs scrub status order:
// what was checked, when, how long, how much, what was found, what was not checked and why, what to do). Pure.
import type { UncheckedReason, VolumeSnapshot, VolumeState } from '../../../engine/api.js';
import { formatCount, formatDuration, formatTime, plural } from './format.js';

export const STATE_LABEL: Record<VolumeState, string> = {
  'not-checked': 'not checked',
  checking: 'checking',
  'check-paused': 'check paused',
  'check-interrupted': 'check interrupted',
  clean: 'clean',
  partial: 'partial',
  changed: 'changed since check',
  errors: 'errors',
  recalculating: 'recalculating',
  'recalc-paused': 'recalc paused',
  'recalc-interrupted': 'recalc interrupted',
  'recalc-pending': 'recalc not started',
  'needs-key': 'needs key',
  'journal-replay': 'journal to replay',
  missing: 'missing',
  formatting: 'formatting',
  unreadable: 'unreadable',
  locked: 'locked',
};

export const STATE_HINT: Record<VolumeState, string> = {
  'not-checked': 'no scrub has finished since the volume was added: nothing about its data is verified yet',
  checking: 'a scrub is running (here or in another process)',
  'check-paused': 'a scrub was paused part way; its position is kept',
  'check-interrupted': 'the process running a scrub stopped without pausing it (killed, crashed, power lost); it resumes from the last saved position',
  clean: 'the last scrub checked every block, found no bad block and no read error, and nothing seen of the volume changed since',
  partial: 'the last scrub finished but did not check every block',
  changed: 'the volume changed after its last scrub finished: that result no longer describes it',
  errors: 'known damage: bad blocks or read errors found by a scrub and not checked again since',
  recalculating: 'tags are being recomputed; blocks past the recalc sector cannot be verified yet',
  'recalc-paused': 'tag recalculation was paused part way; blocks past the recalc sector cannot be verified',
  'recalc-interrupted': 'the process recalculating tags stopped without pausing (killed, crashed); it continues from the position saved in the superblock',
  'recalc-pending': 'the superblock asks for every tag to be recalculated and no recalculation has run yet: no block can be verified',
  'needs-key': 'the host does not hold a key this volume needs (keys are forgotten when the host restarts)',
  'journal-replay': 'the journal holds committed writes not yet copied to the data area',
  missing: 'the image, device or data device is gone',
  formatting: 'the volume is being formatted',
  unreadable: 'not a dm-integrity superblock that can be read',
  locked: 'a LUKS2 volume whose key the host does not hold: Unlock it with its passphrase (keys are forgotten when the host restarts)',
};

export const UNCHECKED_LABEL: Record<UncheckedReason, string> = {
  recalculating: 'being recalculated (at or past the recalc sector)',
  'dirty-bitmap': 'in dirty bitmap regions (not verified until they are recalculated)',
  'read-error': 'unreadable (read error)',
  'not-reached': 'not reached yet by the scrub',
};

export const SUSPECT_GUESS = 'probably the wrong algorithm or key';

export interface ScanSummary {
  /** "scrub finished 2026-12-02 17:30:12 after 4 s" */
  scan: string;
  /** "checked 14,240 of 14,240 blocks: no bad blocks, no read errors" */
  result: string;
  unchecked: string[];
  /** what changed in the volume after the result was measured (each a line), and how changes are detected */
  changed: string[];
  /** labelled a guess in the view */
  suspect: boolean;
  action: string | null;
}

const RECALC_STATES: VolumeState[] = ['recalculating', 'recalc-paused', 'recalc-interrupted', 'recalc-pending'];

export function summarize(
  v: Pick<VolumeSnapshot, 'verification' | 'state' | 'conditions' | 'error_count'> &
    Partial<Pick<VolumeSnapshot, 'superblock' | 'kernel'>> & { luks?: VolumeSnapshot['luks'] },
): ScanSummary {
  const x = v.verification;
  // a LUKS2 volume's blocks are its encryption sectors, and a bad one fails authentication
  const bad = v.luks ? 'failing sector' : 'bad block';
  const unit = v.luks ? 'encryption sector' : 'block';
  const found = `${x.bad_blocks ? plural(x.bad_blocks, bad) : `no ${bad}s`}, ${x.read_errors ? plural(x.read_errors, 'read error') : 'no read errors'}`;
  const c = x.carried_over;
  const carriedNote =
    c && (c.bad_blocks || c.read_errors)
      ? ` (${[c.bad_blocks ? plural(c.bad_blocks, bad) : '', c.read_errors ? plural(c.read_errors, 'read error') : ''].filter(Boolean).join(' and ')} of them found by the scrub that finished ${formatTime(c.finished_at)}, in ${unit}s this one has not checked again yet)`
      : '';
  const checked = `checked ${formatCount(x.checked_blocks)} of ${plural(x.total_blocks, unit)}`;
  // before any scrub every block is unchecked: the result line says so, a breakdown would only repeat it
  const unchecked = x.scrub === 'none' ? [] : x.unchecked.filter((u) => u.blocks > 0).map((u) => `${plural(u.blocks, 'block')} ${UNCHECKED_LABEL[u.reason]}`);
  const pct = (sector: number | null) =>
    sector === null || !v.superblock?.provided_data_sectors ? '' : ` (${Math.floor((sector / v.superblock.provided_data_sectors) * 1000) / 10}%)`;
  let scan: string, result: string;
  switch (x.scrub) {
    case 'none':
      scan = 'no scrub has finished on this volume';
      result = 'not checked: nothing about its data is verified';
      break;
    case 'running': {
      const e = x.running_elsewhere;
      scan = e
        ? `scrub in progress in another process (${e.by === 'cli' ? 'the command line' : 'another dashboard'}, pid ${e.pid}) since ${formatTime(x.started_at)}; its position was last saved ${formatTime(e.seen_at)}`
        : `scrub in progress since ${formatTime(x.started_at)}`;
      result = `${checked} so far: ${found}${carriedNote}`;
      break;
    }
    case 'paused':
      scan = `scrub paused at sector ${formatCount(x.position_sector)}${pct(x.position_sector)} (started ${formatTime(x.started_at)}, ${formatDuration(x.duration_ms)} of checking)`;
      result = `${checked}: ${found}${carriedNote}`;
      break;
    case 'interrupted': {
      const i = x.interrupted!;
      scan = `scrub interrupted: its process stopped without pausing it${i.at ? ` (last seen ${formatTime(i.at)}` : ' ('}${i.reached_sector !== null ? `${i.at ? ', ' : ''}at sector ${formatCount(i.reached_sector)}${pct(i.reached_sector)}` : ''}); started ${formatTime(x.started_at)}`;
      result = `${checked} before it stopped: ${found}${carriedNote}`;
      break;
    }
    case 'finished':
      scan = `scrub finished ${formatTime(x.finished_at)} after ${formatDuration(x.duration_ms)}`;
      result = `${checked}: ${found}`;
      break;
  }
  if (x.unchecked_blocks > 0 && x.scrub !== 'none') result += `; ${plural(x.unchecked_blocks, unit)} not checked`;
  const changed: string[] = [];
  if (x.changed_during.length) changed.push(`while it ran: ${x.changed_during.join('; ')}`);
  if (x.changed_since.length) changed.push(`since ${x.scrub === 'finished' ? 'it finished' : 'it started'}: ${x.changed_since.join('; ')}`);
  if (x.scrub !== 'none' && x.change_detection === 'superblock-only') {
    changed.push('a block device: writes to its data leave no trace the host can see, so only its superblock and size are compared');
  }

  // one action, the most pressing first
  const cond = (s: VolumeState) => v.conditions.includes(s);
  const recalc = RECALC_STATES.find(cond);
  const recalcAt = v.superblock?.recalc_sector ?? null;
  const notVerifiedPast =
    recalcAt !== null
      ? ` blocks at or past sector ${formatCount(recalcAt)}${pct(recalcAt)} are not verified until it is done`
      : ' blocks past its position are not verified until it is done';
  let action: string | null;
  if (v.kernel)
    action = `Watch, recalculate and scrub it under Kernel devices (/dev/mapper/${v.kernel.name}): the kernel holds it, so the app's engine does not open it; deactivate it there to check it here.`;
  else if (cond('locked')) action = `Unlock it with its passphrase, then ${x.scrub === 'none' ? 'start a scrub to check every sector' : 'scrub again'}.`;
  else if (cond('needs-key')) action = 'Unlock it: the host does not hold a key this volume needs, so nothing can be read or checked until you give it.';
  else if (x.suspect_algorithm_or_key)
    action =
      'Check the integrity algorithm and key under Edit (neither is stored on disk), then scrub again. Restore or rewrite nothing before a scrub with the right ones agrees: with a wrong algorithm every block fails.';
  else if (x.scrub === 'running')
    action = x.running_elsewhere
      ? 'Wait for the scrub in the other process to finish (or pause it there with Ctrl-C): its result counts once every block is checked.'
      : 'Wait for the scrub to finish (or pause it): its result counts once every block is checked.';
  else if (x.scrub === 'interrupted')
    action = `Resume the scrub: it continues from sector ${formatCount(x.interrupted!.saved_sector)}${pct(x.interrupted!.saved_sector)}, the last position saved; what it had checked after that is checked again.`;
  else if (x.bad_blocks > 0 || x.read_errors > 0)
    action = v.luks
      ? 'The data of the sectors listed under Sectors failing authentication cannot be trusted: restore them from a backup.'
      : 'The data of the blocks listed under Integrity errors cannot be trusted: restore them from a backup.';
  else if (x.scrub === 'paused') action = 'Resume the scrub to check the rest.';
  else if (recalc === 'recalc-pending')
    action = 'Start the recalculation (Recalculation panel): until it has run, no tag is valid and no block can be verified.';
  else if (recalc) action = `Finish the recalculation (Recalculation panel), then scrub again:${notVerifiedPast}.`;
  else if (x.scrub === 'finished' && x.changed_since.length)
    action = 'Scrub again: the volume changed after the last scrub, so its result no longer describes it.';
  else if (x.scrub === 'finished' && x.changed_during.length) action = 'Scrub again: the volume changed while it was being scrubbed.';
  else if (x.unchecked.some((u) => u.reason === 'dirty-bitmap' && u.blocks > 0))
    action =
      'Recalculate the dirty regions (Journal panel), as the kernel does when it next activates the volume, then scrub again: until then those blocks are not verified.';
  else if (x.unchecked.some((u) => u.reason === 'recalculating' && u.blocks > 0))
    action = 'Finish the recalculation, then scrub again: until then those blocks are not verified.';
  else if (x.scrub === 'none') action = `Start a scrub to check every ${unit}.`;
  else action = null;
  return { scan, result, unchecked, changed, suspect: x.suspect_algorithm_or_key, action };
}
