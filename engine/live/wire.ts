// The live features' plain data as it crosses the host contract (engine/api.ts): what the sampler, the controls,
// the live scrub, the kernel log reader and the availability check give, as interfaces only. Node-free (the
// dashboard's browser typecheck reads this file through engine/api.ts); the modules that make these values
// (sampler.ts, controls.ts, scrub.ts, kmsg.ts, availability.ts) re-export them under their old names.
import type { IntegrityStatus, LiveVolume } from './types.js';

export type RecalcState = 'never' | 'running' | 'done' | 'suspended' | 'unknown';

export interface LiveSnapshot {
  name: string;
  t: number;
  /** gone: no such integrity device now; every kernel figure is then null, never the last one seen */
  state: 'active' | 'suspended' | 'gone';
  /** what this sample showed happened since the previous one */
  event: 'appeared' | 'reloaded' | 'disappeared' | null;
  table_line: string | null;
  mismatches: {
    /** the kernel's counter for the current table load (null while gone) */
    kernel: number | null;
    /** failed reads seen since watching began, across table loads (the first sample's count included) */
    total: number;
    /** the counter as first seen (failures from before we watched) */
    at_first_sample: number;
    /** when a sample first showed the counter higher than the one before it */
    last_grew_at: number | null;
    table_loads_seen: number;
    since: number;
  };
  provided_data_sectors: number | null;
  recalc: {
    state: RecalcState;
    /** status' recalc_sector (live position) */
    position: number | null;
    total: number | null;
    percent: number | null;
    bytes_per_second: number | null;
    eta_ms: number | null;
    /** the superblock's persisted recalc_sector (what a crash or close would keep) */
    persisted_sector: number | null;
    /** when a sample showed the position go back (reset_recalculate) */
    restarted_at: number | null;
  };
}

export interface IntegrityMessage {
  kind: 'checksum' | 'aead' | 'journal-checksum' | 'other';
  /** the kernel name the message names (dm-N) */
  device: string;
  /** 512-byte sector in that device's numbering (checksum: logical sector of the integrity device; aead: the
   *  crypt device's sector) */
  sector: number | null;
  seq: number;
  usec: number;
  text: string;
}

export type LiveUncheckedReason = 'recalculating' | 'dirty-bitmap' | 'recovery-mode' | 'not-verified';

/** the kernel's counter over a live scrub run: increases seen, across table loads */
export interface LiveKernelMismatches {
  at_start: number | null;
  now: number | null;
  increase: number;
  table_loads_seen: number;
}

export interface LiveScrubProgress {
  job: 'live-scrub';
  name: string;
  device: string;
  state: 'running' | 'paused' | 'done' | 'failed';
  position_sector: number;
  total_sectors: number;
  start_sector: number;
  sectors_per_block: number;
  bytes_per_second: number;
  eta_ms: number | null;
  checked_blocks: number;
  /** blocks whose read failed integrity (EILSEQ): the kernel's mismatches, narrowed to single blocks */
  bad_blocks: number;
  bad_ranges: Array<[number, number]>;
  /** blocks whose read failed with EIO (media), not a mismatch */
  read_errors: number;
  read_error_ranges: Array<[number, number]>;
  unchecked_blocks: number;
  unchecked: Array<{ reason: LiveUncheckedReason; blocks: number }>;
  /** who verifies the reads: dm-integrity, or dm-crypt above a LUKS2 `_dif` (whose own counter then stays 0) */
  verified_by: LiveVolume['verified_by'];
  /** our failing read requests, and the kernel's counter over the scrub: each failing request counts once, so
   *  narrowing a bad block down re-reads it and the counter rises by more than the number of bad blocks */
  failed_reads: number;
  kernel_mismatches: LiveKernelMismatches;
  /** what the kernel logged for this device during the scrub (rate-limited by the kernel; may be incomplete) */
  kernel_messages: IntegrityMessage[];
  kernel_messages_lost: boolean;
  started_at: string;
  state_file: string;
  error?: string;
}

export type ControlAction = 'activate' | 'deactivate' | 'recalc-start' | 'recalc-reset' | 'suspend' | 'resume';

export interface ControlPlan {
  action: ControlAction;
  name: string;
  /** the equivalent shell commands, in order, to run as root */
  commands: string[];
  /** what it does to I/O, the recalculation and the counters */
  cost: string;
  /** set when the device is in use and this stops or pauses its I/O: the question to ask before confirm=true */
  confirm: string | null;
  /** set when it will not be done here: why, and what to use instead */
  refused: string | null;
}

export interface ControlResult {
  plan: ControlPlan;
  /** status before and after (null where the device does not exist) */
  before: IntegrityStatus | null;
  after: IntegrityStatus | null;
  /** the table was replaced (the kernel's mismatch counter restarted at 0) */
  reloaded: boolean;
  /** recalc-reset: the position right after the reset_recalculate table's resume */
  after_reset?: IntegrityStatus | null;
  message: string;
}

export interface LiveAvailability {
  available: boolean;
  /** how the privileged part runs: in this process (root), through pkexec (polkit), or not at all */
  via: 'root' | 'pkexec' | null;
  /** null when available; otherwise what is missing and what to do */
  reason: string | null;
  tools: { dmsetup: string | null; integritysetup: string | null; cryptsetup: string | null; pkexec: string | null };
  /** the dm-integrity target: loaded (in /sys/module), available as a module or built in, or absent */
  dm_integrity: 'loaded' | 'module' | 'builtin' | 'absent' | 'unknown';
}
