// The words for volume states and for what the last scrub established (zpool status / btrfs scrub status order:
// what was checked, when, how long, how much, what was found, what was not checked and why, what to do). Pure.
import type { UncheckedReason, VolumeSnapshot, VolumeState } from '../../../engine/api.js';
import { formatCount, formatDuration, formatTime, plural } from './format.js';

export const STATE_LABEL: Record<VolumeState, string> = {
  'not-checked': 'not checked', checking: 'checking', 'check-paused': 'check paused', clean: 'clean', partial: 'partial',
  errors: 'errors', recalculating: 'recalculating', 'recalc-paused': 'recalc paused', 'needs-key': 'needs key',
  'journal-replay': 'journal to replay', missing: 'missing', formatting: 'formatting', unreadable: 'unreadable',
  locked: 'locked',
};

export const STATE_HINT: Record<VolumeState, string> = {
  'not-checked': 'no scrub has finished since the volume was added: nothing about its data is verified yet',
  checking: 'a scrub is running',
  'check-paused': 'a scrub stopped part way; its position is kept',
  clean: 'the last scrub checked every block and found no bad block and no read error',
  partial: 'the last scrub finished but did not check every block',
  errors: 'the last scrub found bad blocks or read errors',
  recalculating: 'tags are being recomputed; blocks past the recalc sector cannot be verified yet',
  'recalc-paused': 'tag recalculation stopped part way; blocks past the recalc sector cannot be verified',
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
  /** labelled a guess in the view */
  suspect: boolean;
  action: string | null;
}

export function summarize(v: Pick<VolumeSnapshot, 'verification' | 'state' | 'conditions' | 'error_count'> & { luks?: VolumeSnapshot['luks'] }): ScanSummary {
  const x = v.verification;
  // a LUKS2 volume's blocks are its encryption sectors, and a bad one fails authentication
  const bad = v.luks ? 'failing sector' : 'bad block';
  const found = `${x.bad_blocks ? plural(x.bad_blocks, bad) : `no ${bad}s`}, ${x.read_errors ? plural(x.read_errors, 'read error') : 'no read errors'}`;
  const checked = `checked ${formatCount(x.checked_blocks)} of ${plural(x.total_blocks, v.luks ? 'encryption sector' : 'block')}`;
  // before any scrub every block is unchecked: the result line says so, a breakdown would only repeat it
  const unchecked = x.scrub === 'none' ? [] : x.unchecked.filter((u) => u.blocks > 0).map((u) => `${plural(u.blocks, 'block')} ${UNCHECKED_LABEL[u.reason]}`);
  let scan: string, result: string, action: string | null = null;
  switch (x.scrub) {
    case 'none':
      scan = 'no scrub has finished on this volume';
      result = 'not checked: nothing about its data is verified';
      action = 'Start a scrub to check every block.';
      break;
    case 'running':
      scan = `scrub in progress since ${formatTime(x.started_at)}`;
      result = `${checked} so far: ${found}`;
      break;
    case 'paused':
      scan = `scrub paused (started ${formatTime(x.started_at)}, ${formatDuration(x.duration_ms)} of checking)`;
      result = `${checked}: ${found}`;
      action = 'Resume the scrub to check the rest.';
      break;
    case 'finished':
      scan = `scrub finished ${formatTime(x.finished_at)} after ${formatDuration(x.duration_ms)}`;
      result = `${checked}: ${found}`;
      break;
  }
  if (x.unchecked_blocks > 0 && x.scrub !== 'none') {
    result += `; ${plural(x.unchecked_blocks, 'block')} not checked`;
    if (!action) action = x.unchecked.some((u) => u.reason === 'recalculating')
      ? 'Finish the recalculation, then scrub again: until then those blocks are not verified.'
      : x.unchecked.some((u) => u.reason === 'dirty-bitmap' && u.blocks > 0)
        ? 'Recalculate the dirty regions (Journal panel), as the kernel does when it next activates the volume, then scrub again: until then those blocks are not verified.'
        : 'Scrub again once the cause is gone: until then those blocks are not verified.';
  }
  if (x.bad_blocks > 0 || x.read_errors > 0) action = v.luks
    ? 'The data of the sectors listed under Sectors failing authentication cannot be trusted: restore them from a backup.'
    : 'The data of the blocks listed under Integrity errors cannot be trusted: restore them from a backup.';
  if (x.suspect_algorithm_or_key) action = 'Check the integrity algorithm and key under Edit (neither is stored on disk), then scrub again.';
  // a LUKS2 volume without its key: nothing can be read or checked until it is unlocked
  if (v.conditions.includes('locked')) action = `Unlock it with its passphrase, then ${x.scrub === 'none' ? 'start a scrub to check every sector' : 'scrub again'}.`;
  return { scan, result, unchecked, suspect: x.suspect_algorithm_or_key, action };
}
