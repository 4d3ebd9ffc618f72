// The IntegrityApi contract between the engine host (host EngineHost, run by Electron's main process or by
// `integrity-studio serve`) and the dashboard (renderer/). Types only: plain data that crosses IPC and WebSockets.
// Keys never cross it: the renderer only learns whether a key is set.
import type { FsMapItem, FsMapResult, FsMapStats, FsType, SectorRange } from './fsmap/types.js';
import type { LiveVolume } from './live/types.js';
import type { ControlAction, ControlPlan, ControlResult, IntegrityMessage, LiveAvailability, LiveScrubProgress, LiveSnapshot } from './live/wire.js';

export type {
  BlockRef,
  Holder,
  IntegrityMode,
  IntegrityStatus,
  IntegrityTable,
  IntegrityTableOptions,
  LiveVolume,
  MountInfo,
  Owner,
  OwnerKind,
  TableAlgorithm,
  TargetVersion,
  Verifier,
} from './live/types.js';
export type {
  ControlAction,
  ControlPlan,
  ControlResult,
  IntegrityMessage,
  LiveAvailability,
  LiveKernelMismatches,
  LiveScrubProgress,
  LiveSnapshot,
  LiveUncheckedReason,
  RecalcState,
} from './live/wire.js';
export type {
  ByteRange,
  FsMapFileItem,
  FsMapFreeItem,
  FsMapItem,
  FsMapMetadataItem,
  FsMapResult,
  FsMapStats,
  FsMapUnmappedItem,
  FsType,
  InodeRef,
  SectorRange,
} from './fsmap/types.js';

// ---- jobs and the journal, as they cross IPC (engine/jobs/types.ts and integrity/journal-writer.ts re-export them)

export type JobKind = 'recalc' | 'scrub' | 'wipe';
/** interrupted: never reported by a running job; a host says it of a job whose process died (its state file's
 *  running marker outlived it) */
export type JobState = 'running' | 'paused' | 'done' | 'failed' | 'interrupted';

/** Blocks a scrub passed over as unverifiable, by reason: at/past recalc_sector, or in a dirty bitmap region. */
export interface UncheckedCounts {
  recalculating: number;
  'dirty-bitmap': number;
}

/** One run of a job (start → pause/finish/failure), newest last; kept in the job's state file, so the CLI and the
 *  dashboard show the same history. */
export interface JobRun {
  job: JobKind;
  /** who ran it */
  by: 'cli' | 'dashboard';
  started_at: string;
  ended_at: string | null;
  duration_ms: number | null;
  /** interrupted: its process died (killed, crashed, power lost) while it ran: to_sector is the last position saved
   *  (where it continues), reached_sector where it had been seen last */
  result: 'running' | 'paused' | 'done' | 'failed' | 'interrupted';
  from_sector: number;
  to_sector: number;
  reached_sector?: number;
  bad_blocks?: number;
  read_errors?: number;
  unchecked_blocks?: number;
  error?: string;
}

/** One progress event, throttled by the runner to at most 10 per second (plus the final one). */
export interface JobProgress {
  job: JobKind;
  state: JobState;
  /** logical 512-byte sector the job has reached (everything before it is done) */
  position_sector: number;
  /** sector the job ends at (provided_data_sectors for the whole volume) */
  total_sectors: number;
  /** 512-byte sectors per block of the volume (bad ranges are whole blocks); always set by startJob, optional so
   *  hosts that build a JobProgress themselves (a paused recalc read from the superblock) need not know it */
  sectors_per_block?: number;
  /** where this run started (after a resume, the persisted position) */
  start_sector: number;
  bytes_per_second: number;
  /** null until a rate is known */
  eta_ms: number | null;
  /** bad blocks found so far (scrub; recalc and wipe report 0) */
  mismatches: number;
  /** the first bad blocks as merged [first_sector, end_sector) ranges, ascending (at most DAMAGE_FIRST_RANGES: the
   *  rest are in the scrub's damage log; `damage` counts them all) */
  bad_ranges: Array<[number, number]>;
  /** blocks checked so far (scrub) and blocks skipped as unverifiable (recalculating, dirty bitmap region) */
  checked_blocks?: number;
  unchecked_blocks?: number;
  unchecked?: Array<{ reason: Exclude<UncheckedReason, 'not-reached'>; blocks: number }>;
  /** blocks whose read failed (EIO): counted apart from mismatches (scrub); the first of their ranges */
  read_errors?: number;
  read_error_ranges?: Array<[number, number]>;
  /** scrub: what it found, bounded whatever the count (counts, the first ranges, a coarse map of the volume) */
  damage?: DamageSummary;
  /** ISO time the job started: a scrub's first run (from sector 0), a recalculation's run */
  started_at?: string;
  /** ISO time this run started (a resumed scrub's run starts later than the scrub) */
  run_started_at?: string;
  /** journal state of the volume, when it has a journal */
  journal: JournalState | null;
  /** set when state is 'failed': one line naming the problem */
  error?: string;
}

export interface JournalState {
  journal_sections: number;
  journal_section_entries: number;
  /** entries written and not yet committed */
  entries_in_use: number;
  free_section: number;
  free_section_entry: number;
  commit_seq: number;
  commits: number;
}

/** How writes are made safe (integritysetup's J/B/D): the one mode union, used by the engine (JournalMode) too. */
export type VolumeMode = 'journal' | 'bitmap' | 'direct';
/**
 * What the dashboard may say about a volume, and nothing more than was verified (README "Dashboard: states"):
 * - not-checked: no scrub has finished since the volume was added or created (or its last one is unknown)
 * - checking / check-paused: a scrub is running (here or in another process) / was paused part way (its position
 *   persisted)
 * - check-interrupted: the process running a scrub died (killed, crashed, power lost); it resumes from the last
 *   position saved
 * - clean: the last scrub finished AND checked every block AND found no bad block and no read error AND nothing
 *   seen of the volume changed since
 * - partial: the last scrub finished but some blocks were not checked (Verification.unchecked says why)
 * - changed: the volume changed after its last finished scrub (Verification.changed_since says how): that result no
 *   longer describes it
 * - errors: known damage: bad blocks or read errors found by the last scrub, or by the one before it in blocks the
 *   current one has not checked again
 * - recalculating / recalc-paused / recalc-interrupted / recalc-pending: tags are being recomputed / were paused /
 *   the process recomputing them died / the superblock asks for it and no run has started (blocks at or past
 *   recalc_sector are unverifiable in each)
 * - needs-key: the algorithms need a key the host does not hold (after a host restart keys are forgotten)
 * - journal-replay: the journal holds committed entries a writable open would replay
 * - missing: the image, device or data device is gone
 * - formatting, unreadable (not a dm-integrity superblock we can read: the error says why)
 * - locked: a LUKS2 volume whose volume key the host does not hold (Unlock with its passphrase or key file)
 */
export type VolumeState =
  | 'not-checked'
  | 'checking'
  | 'check-paused'
  | 'check-interrupted'
  | 'clean'
  | 'partial'
  | 'changed'
  | 'errors'
  | 'recalculating'
  | 'recalc-paused'
  | 'recalc-interrupted'
  | 'recalc-pending'
  | 'needs-key'
  | 'journal-replay'
  | 'missing'
  | 'formatting'
  | 'unreadable'
  | 'locked';

/** Why blocks were not checked by a scrub (counts in blocks). */
export type UncheckedReason = BlockUncheckedReason | 'read-error' | 'not-reached';
/** Why the kernel does not verify a block it reads: at or past recalc_sector while recalculating, or in a dirty
 *  bitmap region (engine/integrity/target.ts counts these). */
export type BlockUncheckedReason = 'recalculating' | 'dirty-bitmap';

/** What the last scrub established, as `zpool status` / `btrfs scrub status` put it. Ranges are [first, end) in
 *  512-byte sectors (block-aligned); block counts are in the volume's blocks (Geometry.block_size). */
export interface Verification {
  /** finished: the scrub ran to the end of the volume; running: here or in another process; paused: stopped part
   *  way; interrupted: its process died part way; none: never scrubbed */
  scrub: 'none' | 'running' | 'paused' | 'interrupted' | 'finished';
  /** ISO times of the scrub that produced this result (null when never scrubbed) */
  started_at: string | null;
  finished_at: string | null;
  /** wall time spent checking, summed over the pauses */
  duration_ms: number | null;
  /** where the scrub is (everything before it was checked or counted as not checked); the end when finished */
  position_sector: number;
  /** a scrub another process runs (the CLI, another dashboard): who, and when its state file was last brought up
   *  to date with its position (every second) */
  running_elsewhere: { by: 'cli' | 'dashboard'; pid: number; seen_at: string | null; bytes_per_second: number } | null;
  /** the scrub's process died: it resumes from saved_sector (the last position saved); it had been seen at
   *  reached_sector, at `at` */
  interrupted: { saved_sector: number; reached_sector: number | null; at: string | null } | null;
  total_blocks: number;
  checked_blocks: number;
  /** known damage: what this scrub found, plus what the last finished scrub found in blocks this one has not
   *  reached yet (carried_over says how many) */
  bad_blocks: number;
  /** the first known bad ranges (at most DAMAGE_FIRST_RANGES; listErrors pages through all of them) */
  bad_ranges: Array<[number, number]>;
  /** known damage, bounded whatever the count: counts, the first ranges of each kind, a coarse map */
  damage: DamageSummary;
  /** the last finished scrub, while a newer one is running, paused or interrupted: its findings past the newer one's
   *  position are still known damage (counted in bad_blocks / read_errors) */
  carried_over: { finished_at: string | null; bad_blocks: number; read_errors: number; changed_since: string[] } | null;
  /** what changed in the volume after this result was measured (a finished scrub: since it ended; otherwise since
   *  it started), in words; empty when nothing that can be seen changed */
  changed_since: string[];
  /** what changed while the scrub ran (between its start and its end) */
  changed_during: string[];
  /** image: writes to the data are seen (the file's mtime); superblock-only: a block device, whose writes leave no
   *  trace the host can see, so only its superblock and size are compared */
  change_detection: 'image' | 'superblock-only';
  /** blocks whose read failed (EIO): not a tag mismatch, and not checked */
  read_errors: number;
  read_error_ranges: Array<[number, number]>;
  /** total_blocks - checked_blocks, broken down by reason (the number `verify --json` reports as unchecked_blocks
   *  plus what a paused scrub has not reached) */
  unchecked_blocks: number;
  unchecked: Array<{ reason: UncheckedReason; blocks: number }>;
  /** every checked block failed: the algorithm or key is probably wrong (a guess; the UI labels it one) */
  suspect_algorithm_or_key: boolean;
}

/** The journal as it is on disk (read without writing), not this session's activity. */
export interface JournalOnDisk {
  /** journal: the kernel's journal; bitmap: the area holds the dirty bitmap; none: direct-mode open */
  kind: 'journal' | 'bitmap';
  sections: number;
  section_entries: number;
  /** committed entries a writable open replays and a read-only open overlays, and whose block on disk differs
   *  from them (the kernel leaves replayed entries in the journal: those are counted in applied_entries) */
  committed_entries: number;
  /** committed entries already on disk (a replay rewrites them unchanged); one per sector, the last one wins */
  applied_entries?: number;
  /** sections holding the committed entries awaiting replay */
  committed_sections: number;
  /** the newest consistent commit's sequence number (0..3), null when the journal is empty */
  commit_seq: number | null;
  /** committed_entries / (sections × section_entries) */
  fill: number;
  /** entries written after the last commit (a torn tail replay ignores) */
  torn_entries: number;
  /** bitmap kind: dirty regions (blocks not verified until recalculated: replayJournal, or any writable open) */
  dirty_regions?: number;
  dirty_blocks?: number;
  /** bitmap kind: where they are, as merged [first, end) 512-byte sector ranges (at most 1024: past that, ranges
   *  closer than 1/1024 of the volume are joined, so a range may include clean sectors, never leave out dirty ones) */
  dirty_ranges?: Array<[number, number]>;
  /** why it could not be read (e.g. journal MAC/crypt key not held) */
  unreadable?: string;
}

/** The options of an open (integritysetup open's), as the host holds them: algorithms, never keys. */
export interface OpenOptionsInfo {
  integrity: string;
  journal_integrity: string | null;
  journal_crypt: string | null;
  mode: VolumeMode;
  data_device: string | null;
  allow_discards: boolean;
  bitmap_sectors_per_bit: number | null;
  bitmap_flush_time_ms: number | null;
}

export interface SuperblockInfo {
  version: number;
  flags: string[];
  integrity_tag_size: number;
  journal_sections: number;
  provided_data_sectors: number;
  log2_interleave_sectors: number;
  log2_sectors_per_block: number;
  log2_blocks_per_bitmap_bit: number;
  /** null when the recalculating flag is not set */
  recalc_sector: number | null;
}

export interface GeometryInfo {
  block_size: number;
  tag_size: number;
  initial_sectors: number;
  metadata_run: number;
  journal_section_sectors: number;
  journal_entries: number;
  meta_dev: boolean;
}

export interface VolumeSnapshot {
  id: string;
  name: string;
  path: string;
  data_device: string | null;
  size_bytes: number;
  algorithm: string;
  mode: VolumeMode;
  /** the most important of `conditions` (the badge) */
  state: VolumeState;
  /** every state that applies, most important first (e.g. ['errors', 'recalc-paused']) */
  conditions: VolumeState[];
  /** bad blocks found by the last scrub (0 when never scrubbed: see verification.scrub) */
  error_count: number;
  bad_ranges: Array<[number, number]>;
  verification: Verification;
  superblock: SuperblockInfo | null;
  geometry: GeometryInfo | null;
  /** this session's journal activity (null when nothing was written here) */
  journal: JournalState | null;
  /** the journal as it is on disk */
  journal_disk: JournalOnDisk | null;
  /** the running or last job of each kind */
  jobs: Partial<Record<JobKind, JobProgress>>;
  /** the last runs of each job (newest last), from the state files the CLI writes too */
  runs: JobRun[];
  options: OpenOptionsInfo;
  /** whether a key is set (the key itself stays in the host) */
  keys: { integrity: boolean; journalIntegrity: boolean; journalCrypt: boolean };
  /** which keys the volume's algorithms need */
  keys_required: { integrity: boolean; journalIntegrity: boolean; journalCrypt: boolean };
  /** `integritysetup open …` (quoted for a POSIX shell) and the dm table line equivalent to this volume */
  open_command: string;
  dm_table: string;
  /** one line naming the last problem, when there is one */
  /** active in the kernel as /dev/mapper/NAME, as the last listing of the kernel's devices showed (then the app's
   *  engine does not open it: Kernel devices watches, recalculates and scrubs it); null when none listed it */
  kernel: { name: string; listed_at: string } | null;
  error: string | null;
  /** recalculation and scrub of this volume read at most this many MiB/s (null: as fast as the hardware goes) */
  speed_limit_mib_s: number | null;
  /** a LUKS2 authenticated volume (dm-crypt over dm-integrity): what its header says, read without a key */
  luks?: LuksInfo | null;
  /** what the known damage holds (files, file-system structures, free space), counts only; mapDamage pages the items */
  damage_map?: DamageMapSummary | null;
}

/** One LUKS2 keyslot as `cryptsetup luksDump` shows it (no key material). */
export interface LuksKeyslotInfo {
  id: number;
  type: string;
  key_bits: number;
  priority: 'ignored' | 'normal' | 'preferred';
  /** the keyslot area's cipher */
  cipher: string;
  kdf: string;
  /** argon2: time cost, memory (KiB), threads; pbkdf2: hash and iterations */
  time?: number;
  memory_kib?: number;
  threads?: number;
  hash?: string;
  iterations?: number;
}

/** What a LUKS2 header says (both copies checked), and whether the host holds the volume key. */
export interface LuksInfo {
  uuid: string;
  label: string;
  /** the data segment's cipher, e.g. aes-xts-random, aes-gcm-random, chacha20-random, aegis128-random */
  cipher: string;
  /** the segment's integrity, e.g. hmac(sha256), aead, poly1305 (null: not an authenticated volume) */
  integrity: string | null;
  /** encryption sector size, bytes */
  sector_size: number;
  /** volume key size in bits (encryption key ‖ integrity key) */
  volume_key_bits: number;
  /** byte offset of the data segment (where the dm-integrity superblock is) */
  data_offset: number;
  keyslots: LuksKeyslotInfo[];
  /** header copies that failed their checks, in words */
  damaged: string[];
  /** `integrity-studio luks-dump` (= `cryptsetup luksDump`) text */
  dump: string;
  /** the host does not hold the volume key */
  locked: boolean;
}

/** A LUKS2 passphrase typed in the dashboard, or a key file on the host (read there, never sent back). */
export type LuksSecretInput = { passphrase: string } | { file: string };

/** Create form, LUKS2 authenticated encryption (`integrity-studio luks-format`, = cryptsetup luksFormat --integrity). */
export interface CreateLuksVolumeRequest {
  path: string;
  /** bytes; a new sparse image is created only when given */
  size?: number;
  name?: string;
  /** hmac-sha256, hmac-sha512, aead, poly1305 */
  integrity: string;
  /** e.g. aes-xts-random, aes-gcm-random, chacha20-random, aegis128-random */
  cipher?: string;
  /** bits, the cipher's key */
  keySize?: number;
  sectorSize?: number;
  pbkdf?: 'argon2id' | 'argon2i' | 'pbkdf2';
  /** pbkdf2 iterations or argon2 time cost (--pbkdf-force-iterations) */
  pbkdfIterations?: number;
  /** argon2 memory, KiB */
  pbkdfMemory?: number;
  secret: LuksSecretInput;
  /** --integrity-no-wipe */
  noWipe?: boolean;
  /** format over something that holds data */
  force?: boolean;
}

/** A key given to the host: hex digits, or a key file on the host (read there, never sent back). */
export type KeyInput = { hex: string } | { file: string };

/** Open options (integritysetup open's); keys as KeyInput. */
export interface OpenOptionsRequest {
  dataDevice?: string;
  integrity?: string;
  integrityKey?: KeyInput;
  journalIntegrity?: string;
  journalIntegrityKey?: KeyInput;
  journalCrypt?: string;
  journalCryptKey?: KeyInput;
  mode?: VolumeMode;
  allowDiscards?: boolean;
  bitmapSectorsPerBit?: number;
  bitmapFlushTimeMs?: number;
}

/** Options of the create form: integritysetup format's, plus the open options the volume is then used with. */
export interface CreateVolumeRequest extends OpenOptionsRequest {
  path: string;
  /** bytes; a new sparse image is created only when given; absent for an existing file or device */
  size?: number;
  name?: string;
  tagSize?: number;
  sectorSize?: number;
  journalSize?: number;
  interleaveSectors?: number;
  bufferSectors?: number;
  noWipe?: boolean;
  integrityRecalculate?: boolean;
  legacyPadding?: boolean;
  legacyHmac?: boolean;
  /** format over a device that holds a signature (the form's "Format even though it holds data" box) */
  force?: boolean;
}

export interface AddVolumeRequest extends OpenOptionsRequest {
  path: string;
  name?: string;
  /** a LUKS2 device (recognised by its header): its passphrase or key file; absent: added locked */
  luksSecret?: LuksSecretInput;
}

/** Edit: a new name and/or open options; keys given here replace the held ones, absent keys are kept. */
export interface UpdateVolumeRequest extends OpenOptionsRequest {
  name?: string;
  /** recalculation and scrub read at most this many MiB/s (whole MiB/s); 0 removes the limit */
  speedLimitMiBs?: number;
}

/** Unlock: the keys a volume needs (after a host restart they are forgotten). */
export interface UnlockRequest {
  integrityKey?: KeyInput;
  journalIntegrityKey?: KeyInput;
  journalCryptKey?: KeyInput;
  /** a LUKS2 volume: its passphrase or key file */
  luksSecret?: LuksSecretInput;
}

/** What the Resize form needs to know (integritysetup resize; sizes are bytes of the volume, not of the device). */
export interface ResizeLimits {
  current_bytes: number;
  /** the size the volume takes when it fills its image file or device as it is now ("whole device/file") */
  whole_device_bytes: number;
  /** the largest size possible: a block device's own size; an image file grown into the free space of its file system */
  max_bytes: number;
  /** one block */
  min_bytes: number;
  block_size: number;
  /** the file or device holding the data (the image, or the data device) */
  device: string;
  device_kind: 'file' | 'block';
  /** free bytes of the image file's file system (null for a block device) */
  free_bytes: number | null;
  /** the kernel lets a grown area be recalculated (keyed hashes need a journal MAC, else only --wipe) */
  recalc_allowed: boolean;
  /** why a resize is refused right now (a job runs, another writer holds it, a key is missing), null when it may run */
  refused: string | null;
}

/** Resize: a new size, or the whole device/file as it is; a grown area wiped or marked for recalculation. */
export interface ResizeVolumeRequest {
  /** bytes of the volume (a multiple of its block size); absent: fit the image file or device as it is now */
  size?: number;
  /** grow: zero the new area with valid tags (integritysetup resize --wipe); otherwise it is recalculated */
  wipe?: boolean;
  /** a shrink loses the data past the new end: the form asks first and says so here */
  confirmShrink?: boolean;
}

// ---- the kernel's own dm-integrity devices (issue 18: engine/live; host/live wires it) ----

/** The live view's list: whether the live features work here (and if not, why and what to do), and every active
 *  integrity device of the kernel, keyless. */
export interface LiveOverview {
  availability: LiveAvailability;
  volumes: LiveVolume[];
  /** ISO time of the listing */
  listed_at: string;
  /** the listing failed although the live features are available (the tool's words), else null */
  error: string | null;
}

/** A page watching a device: the host samples it about once a second while watches are renewed (a lease of
 *  lease_ms after the last watchLive call), sending 'live' events; the latest snapshot at once. */
export interface LiveWatch {
  name: string;
  lease_ms: number;
  snapshot: LiveSnapshot | null;
  /** the last sample failed (the tool's words), else null */
  error: string | null;
}

/** A control of a kernel device. activate: `volumeId` names a volume of the app's list (its options and the keys
 *  the host holds; keys never cross here) and `name` the dm name to create (default: the volume's name); every other
 *  action: `name` is the active device. */
export interface LiveControlRequest {
  action: ControlAction;
  name?: string;
  volumeId?: string;
  /** activate: --integrity-recalculate / --integrity-recalculate-reset */
  recalculate?: boolean;
  recalculateReset?: boolean;
  /** the user saw the plan's question (the ECONFIRM answer) and said yes */
  confirm?: boolean;
}

export interface LiveScrubRequest {
  /** read at most this many MiB/s (the mounted file system stays usable); absent or 0: no limit */
  maxMiBs?: number;
  /** start from sector 0 even when a paused scrub of this device is saved */
  reset?: boolean;
}

/** At most this many kernel log lines in a live scrub event or answer, and in liveKernelLog's answer. */
export const LIVE_KERNEL_MESSAGES = 50;

/** A live scrub's progress as it crosses the contract, bounded whatever it found: the first DAMAGE_FIRST_RANGES
 *  ranges of each kind with their counts, and the last LIVE_KERNEL_MESSAGES kernel log lines with their count. */
export interface LiveScrubView extends LiveScrubProgress {
  bad_range_count: number;
  read_error_range_count: number;
  kernel_message_count: number;
}

/** What the kernel logged about integrity failures of a device (and the dm-crypt device above it): the last
 *  LIVE_KERNEL_MESSAGES lines, with how many there were. */
export interface LiveKernelLog {
  name: string;
  messages: IntegrityMessage[];
  total: number;
}

/** What the bad blocks a live scrub found hold, a page of items at a time (as mapDamage for the app's volumes). */
export interface MapLiveDamageRequest {
  /** the items of one kind (default all, in sector order) */
  kind?: 'all' | FsMapItem['kind'];
  /** the first item of the page (default 0) */
  offset?: number;
  /** at most this many items (default 50, at most 200) */
  limit?: number;
  /** map again even when the kept mapping is of the scrub's latest findings */
  refresh?: boolean;
}

export interface LiveDamageMapPage {
  name: string;
  /** the device read: the one the scrub read (/dev/mapper/NAME, or the dm-crypt device above a LUKS2 _dif) */
  device: string;
  /** when the mapping was made, and when the scrub's findings it maps were saved */
  mapped_at: string;
  scrub_updated: string | null;
  /** the mapping's header: the whole result without its items */
  result: Omit<FsMapResult, 'items'>;
  items: FsMapItem[];
  total_items: number;
  next_offset: number | null;
}

export interface HostStatus {
  version: string;
  transport: 'electron' | 'websocket';
  algorithms: string[];
  jobs_available: boolean;
  /** when this host process started (a restart changes it) */
  started_at: string;
  volumes: VolumeSnapshot[];
}

/** A result the host may give at once or later; over any transport it arrives as a promise. */
export type Awaitable<T> = T | Promise<T>;

/**
 * The commands, each with what it takes and gives. The host (host/engine-host.ts) implements this interface; the
 * dashboard calls it through a Transport (invoke by name), so the names and argument types exist once, here, and
 * COMMANDS below gives each its validation schema, typed against these signatures.
 */
export interface IntegrityCommands {
  status(): Awaitable<HostStatus>;
  listVolumes(): Awaitable<VolumeSnapshot[]>;
  /** an existing volume; a LUKS2 device (recognised by a header copy) is added locked unless luksSecret is given */
  addVolume(req: AddVolumeRequest): Awaitable<VolumeSnapshot>;
  /** formats (asking first, with code ECONFIRM, before formatting over anything that exists) and adds it */
  createVolume(req: CreateVolumeRequest): Awaitable<VolumeSnapshot>;
  /** takes the volume off the list; the image and its state files stay */
  removeVolume(id: string): Awaitable<void>;
  updateVolume(id: string, req: UpdateVolumeRequest): Awaitable<VolumeSnapshot>;
  /** the keys a volume needs (integrity, journal MAC/crypt), or a LUKS2 volume's passphrase or key file */
  unlockVolume(id: string, req: UnlockRequest): Awaitable<VolumeSnapshot>;
  /** replays the journal on disk as the kernel does on activation (a writable open) */
  replayJournal(id: string): Awaitable<VolumeSnapshot>;
  startRecalc(id: string): Awaitable<void>;
  pauseRecalc(id: string): Awaitable<void>;
  resumeRecalc(id: string): Awaitable<void>;
  resetRecalc(id: string): Awaitable<void>;
  startScrub(id: string): Awaitable<void>;
  pauseScrub(id: string): Awaitable<void>;
  resumeScrub(id: string): Awaitable<void>;
  /** formats a LUKS2 authenticated volume (header, dm-integrity, wipe) and adds it, unlocked */
  createLuksVolume(req: CreateLuksVolumeRequest): Awaitable<VolumeSnapshot>;
  /** what a resize of this volume can do now */
  resizeLimits(id: string): Awaitable<ResizeLimits>;
  /** integritysetup resize: grows (new area wiped, progress as 'progress' events of job 'wipe'; or marked for
   *  recalculation, which then starts) or shrinks; resolves when the size is on disk */
  resizeVolume(id: string, req: ResizeVolumeRequest): Awaitable<VolumeSnapshot>;
  /** known damage, a page at a time (snapshots and events carry only a bounded summary of it) */
  listErrors(id: string, req: ListErrorsRequest): Awaitable<ErrorPage>;
  /** writes the whole list of known damage to a file on the host, as JSON or CSV, streamed (Electron: after a save
   *  dialog; the browser downloads /export/ID.FORMAT from `serve` instead) */
  exportErrors(id: string, req: ExportErrorsRequest): Awaitable<ExportResult>;
  /** what the known damage holds (engine/fsmap, in a worker thread): the kept mapping, or a new one when there is
   *  none for this damage and this volume yet (or `refresh`); items a page at a time, one kind at a time */
  mapDamage(id: string, req: MapDamageRequest): Awaitable<DamageMapPage>;
  /** rewrites the known bad blocks the file system says are free with zeros and a valid tag, through the engine's
   *  write path (a LUKS2 volume: through dm-crypt, a new IV and tag); asks first (ECONFIRM, naming what is written)
   *  unless `confirm`; refuses when any of them is not free when checked again just before writing */
  rewriteFreeBlocks(id: string, req: RewriteFreeRequest): Awaitable<RewriteFreeResult>;
  /** the kernel's active integrity devices, and whether (or why not) the live features work here */
  liveVolumes(): Awaitable<LiveOverview>;
  /** starts or renews a watch of an active device (a lease: sampled about once a second, 'live' events) */
  watchLive(name: string): Awaitable<LiveWatch>;
  /** what a control would run (the equivalent commands), what it costs, the question it asks or why it is refused;
   *  runs nothing */
  planLive(req: LiveControlRequest): Awaitable<ControlPlan>;
  /** runs a control; refused with code ECONFIRM (the plan's question) unless `confirm`, with EREFUSED (in the owner's
   *  words) where another tool owns the device */
  controlLive(req: LiveControlRequest): Awaitable<ControlResult>;
  /** our resumable O_DIRECT scrub of an active (possibly mounted) device; progress as 'live-scrub' events */
  startLiveScrub(name: string, req: LiveScrubRequest): Awaitable<LiveScrubView>;
  /** pauses it at the next chunk (its position saved) */
  pauseLiveScrub(name: string): Awaitable<LiveScrubView>;
  /** the running scrub's latest progress, else the saved one, else null */
  liveScrubProgress(name: string): Awaitable<LiveScrubView | null>;
  /** integrity failures the kernel logged for the device (and a dm-crypt device above it) */
  liveKernelLog(name: string): Awaitable<LiveKernelLog>;
  /** what the bad blocks the last live scrub of this device found hold, read through the kernel's device (a block the
   *  kernel refuses is named unreadable, never guessed); kept until the scrub's findings change or `refresh` */
  mapLiveDamage(name: string, req: MapLiveDamageRequest): Awaitable<LiveDamageMapPage>;
}

export type CommandName = keyof IntegrityCommands;
export type CommandArgs<C extends CommandName> = Parameters<IntegrityCommands[C]>;
export type CommandResult<C extends CommandName> = Awaited<ReturnType<IntegrityCommands[C]>>;

/** The whole contract as the dashboard sees it: every command resolves with plain data or rejects with one line
 *  naming the problem (and a code, ErrorCode). */
export type IntegrityApi = { [C in CommandName]: (...args: CommandArgs<C>) => Promise<CommandResult<C>> } & {
  /** Electron only: a native dialog for an image (open/save), a key file, or where to save an export */
  pickPath?(kind: PickKind): Promise<string | null>;
  /** subscribes to events; returns the unsubscribe function */
  onEvent(listener: (e: IntegrityEvent) => void): () => void;
};

export type PickKind = 'open' | 'save' | 'key' | 'export-json' | 'export-csv';

/**
 * What carries the contract to the dashboard: Electron's preload (window.integrity) or the WebSocket of `serve`.
 * One generic call, so neither side keeps a copy of the command names.
 */
export interface Transport {
  invoke<C extends CommandName>(cmd: C, args: CommandArgs<C>): Promise<CommandResult<C>>;
  onEvent(listener: (e: IntegrityEvent) => void): () => void;
  pickPath?(kind: PickKind): Promise<string | null>;
}

/** Electron's IPC channels (main.ts and the preload; the preload cannot import this module, so it has a copy
 *  checked equal to these by electron/electron.test.ts) */
export const IPC = { invoke: 'integrity:invoke', event: 'integrity:event', dialog: 'integrity:dialog' } as const;

export { ERROR_CODES, type ErrorCode } from './errors.js';
import type { ErrorCode } from './errors.js';

// ---- known damage, bounded (a failing disk can have millions of bad blocks) ----

/** At most this many ranges of each kind in a snapshot or event (the rest: listErrors / exportErrors). */
export const DAMAGE_FIRST_RANGES = 64;
/** Cells of the coarse map of where the damage is. */
export const DAMAGE_MAP_CELLS = 256;

/** A bounded summary of known damage: counts, the first ranges, and a coarse map of the volume. */
export interface DamageSummary {
  /** bad blocks (tag mismatch / authentication failure) and unreadable blocks (EIO), in blocks */
  bad_blocks: number;
  read_errors: number;
  /** merged [first, end) 512-byte sector ranges in all, of each kind */
  bad_range_count: number;
  read_error_range_count: number;
  /** the first DAMAGE_FIRST_RANGES of each kind, ascending */
  bad_ranges: Array<[number, number]>;
  read_error_ranges: Array<[number, number]>;
  /** the volume cut into map.cells equal parts: blocks of each kind in each part */
  map: { cells: number; sectors_per_cell: number; bad: number[]; read_errors: number[] };
}

export interface ListErrorsRequest {
  /** the first range ending after this sector (a page starts where the last one ended) */
  fromSector?: number;
  /** at most this many rows (default 200, at most 2000) */
  limit?: number;
  kind?: 'all' | 'bad' | 'read-error';
}

export interface ErrorRangeRow {
  kind: 'bad' | 'read-error';
  /** [first, end) in 512-byte sectors, whole blocks */
  first_sector: number;
  end_sector: number;
}

export interface ErrorPage {
  rows: ErrorRangeRow[];
  /** where the next page starts (fromSector), null after the last */
  next_sector: number | null;
  /** ranges of the kinds asked for, in all */
  total_ranges: number;
}

export interface ExportErrorsRequest {
  format: 'json' | 'csv';
  /** a file on the host (Electron's save dialog gave it) */
  path: string;
}

export interface ExportResult {
  path: string;
  bytes: number;
  ranges: number;
}

// ---- what the known damage holds (issue 20: engine/fsmap) ----

/** The host's mapping of a volume's known damage, as snapshots carry it (bounded: counts and words). */
export interface DamageMapSummary {
  /**
   * none: no known damage; pending: known damage not mapped yet (mapDamage maps it); mapping: a worker is mapping it;
   * mapped: the counts below describe the known damage; outdated: the known damage changed since the last mapping
   * (counts are the old ones; it is mapped again when the volume is idle, or by mapDamage); unavailable: it cannot be
   * mapped now (reason: locked, keys not held, another process writing, …); failed: the mapping failed (reason)
   */
  state: 'none' | 'pending' | 'mapping' | 'mapped' | 'outdated' | 'unavailable' | 'failed';
  reason: string | null;
  fs: FsType | null;
  fs_description: string;
  /** the file system's block size (0 when none was recognised) */
  block_size: number;
  bad_sectors: number;
  files_damaged: number;
  /** file items in all (a file whose bad blocks lie only in unwritten extents or past its end is not damaged) */
  file_items: number;
  metadata_items: number;
  free_sectors: number;
  unmapped_sectors: number;
  /** why the mapping may not describe the file system as it is, each in words: the file system's unreplayed journal or
   *  dirty log, the volume changed since it was mapped, attached to a loop device or held by the kernel, a scrub
   *  still finding damage */
  stale: string[];
  mapped_at: string | null;
  /** free bad blocks rewritten with zeros since this damage was found (they stay known damage until a scrub
   *  checks them again) */
  rewritten: { blocks: number; at: string } | null;
}

export interface MapDamageRequest {
  /** the items of one kind (default all, in sector order) */
  kind?: 'all' | FsMapItem['kind'];
  /** the first item of the page (default 0) */
  offset?: number;
  /** at most this many items (default 50, at most 200) */
  limit?: number;
  /** map again even when the kept mapping is current */
  refresh?: boolean;
}

export interface DamageMapPage {
  summary: DamageMapSummary;
  /** the mapping's header (null when there is none): the whole result without its items */
  result: Omit<FsMapResult, 'items'> | null;
  items: FsMapItem[];
  /** items of the kind asked for, in all */
  total_items: number;
  /** the offset of the next page, null after the last */
  next_offset: number | null;
}

export interface RewriteFreeRequest {
  /** the user saw what will be written (the ECONFIRM answer) and said yes */
  confirm?: boolean;
}

export interface RewriteFreeResult {
  /** volume blocks rewritten with zeros and a valid tag, and read back verified */
  blocks: number;
  /** the first ranges rewritten ([first, end) 512-byte sectors; at most DAMAGE_FIRST_RANGES) */
  ranges: SectorRange[];
  ranges_total: number;
  /** free sectors not rewritten because their volume block also holds sectors in use, or not checked free */
  skipped_sectors: number;
  /** what the file system said (checkFree) just before the write */
  fs: FsType | null;
  /** journal / direct / dm-crypt: the write path used */
  written_through: string;
  stats: Pick<FsMapStats, 'elapsed_ms'>;
}

/** The commands' argument schemas (host/protocol.ts validates every request against them, whatever the surface). */
export type Field = (
  | { t: 'string' }
  | { t: 'path' }
  | { t: 'int' }
  | { t: 'bool' }
  | { t: 'enum'; values: readonly string[] }
  | { t: 'key' }
  | { t: 'secret' }
) & { required?: boolean };

/** the field kind a request property's type calls for (a differing one does not compile) */
type FieldFor<V> = [V] extends [KeyInput]
  ? { t: 'key' }
  : [V] extends [LuksSecretInput]
    ? { t: 'secret' }
    : [V] extends [boolean]
      ? { t: 'bool' }
      : [V] extends [number]
        ? { t: 'int' }
        : [V] extends [string]
          ? string extends V
            ? { t: 'string' } | { t: 'path' }
            : { t: 'enum'; values: readonly V[] }
          : never;

/** a field the request interface does not mark optional must be given (the validator refuses it missing) */
type Required<T, K extends keyof T> = object extends Pick<T, K> ? { required?: false } : { required: true };
/** a request object's schema: every field of T, each of the kind its type calls for, required where T requires it */
export type Shape<T> = { readonly [K in keyof T]-?: FieldFor<Exclude<T[K], undefined>> & Required<T, K> };
export type ArgSchema<A> = [A] extends [string] ? { kind: 'id' } : { kind: 'object'; name: string; shape: Shape<A> };
export type ArgsSchema<P extends readonly unknown[]> = { readonly [I in keyof P]: ArgSchema<P[I]> };
export interface CommandSpec<C extends CommandName> {
  readonly args: ArgsSchema<CommandArgs<C>>;
}

const S = { t: 'string' } as const;
const P = { t: 'path' } as const;
/** a path that must be given */
const RP = { t: 'path', required: true } as const;
const I = { t: 'int' } as const;
const B = { t: 'bool' } as const;
const K = { t: 'key' } as const;
const ID = { kind: 'id' } as const;
const MODE = { t: 'enum', values: ['journal', 'bitmap', 'direct'] } as const;
const OPEN: Shape<OpenOptionsRequest> = {
  dataDevice: P,
  integrity: S,
  integrityKey: K,
  journalIntegrity: S,
  journalIntegrityKey: K,
  journalCrypt: S,
  journalCryptKey: K,
  mode: MODE,
  allowDiscards: B,
  bitmapSectorsPerBit: I,
  bitmapFlushTimeMs: I,
};

const LIVE_CONTROL: Shape<LiveControlRequest> = {
  action: { t: 'enum', values: ['activate', 'deactivate', 'recalc-start', 'recalc-reset', 'suspend', 'resume'], required: true },
  name: S,
  volumeId: S,
  recalculate: B,
  recalculateReset: B,
  confirm: B,
};

/** Every command, with its arguments' schemas: the one table of the contract. */
export const COMMANDS: { readonly [C in CommandName]: CommandSpec<C> } = {
  status: { args: [] },
  listVolumes: { args: [] },
  addVolume: { args: [{ kind: 'object', name: 'addVolume', shape: { ...OPEN, path: RP, name: S, luksSecret: { t: 'secret' } } }] },
  createVolume: {
    args: [
      {
        kind: 'object',
        name: 'createVolume',
        shape: {
          ...OPEN,
          path: RP,
          size: I,
          name: S,
          tagSize: I,
          sectorSize: I,
          journalSize: I,
          interleaveSectors: I,
          bufferSectors: I,
          noWipe: B,
          integrityRecalculate: B,
          legacyPadding: B,
          legacyHmac: B,
          force: B,
        },
      },
    ],
  },
  removeVolume: { args: [ID] },
  updateVolume: { args: [ID, { kind: 'object', name: 'updateVolume', shape: { ...OPEN, name: S, speedLimitMiBs: I } }] },
  unlockVolume: {
    args: [ID, { kind: 'object', name: 'unlockVolume', shape: { integrityKey: K, journalIntegrityKey: K, journalCryptKey: K, luksSecret: { t: 'secret' } } }],
  },
  replayJournal: { args: [ID] },
  startRecalc: { args: [ID] },
  pauseRecalc: { args: [ID] },
  resumeRecalc: { args: [ID] },
  resetRecalc: { args: [ID] },
  startScrub: { args: [ID] },
  pauseScrub: { args: [ID] },
  resumeScrub: { args: [ID] },
  createLuksVolume: {
    args: [
      {
        kind: 'object',
        name: 'createLuksVolume',
        shape: {
          path: RP,
          size: I,
          name: S,
          integrity: { t: 'string', required: true },
          cipher: S,
          keySize: I,
          sectorSize: I,
          pbkdf: { t: 'enum', values: ['argon2id', 'argon2i', 'pbkdf2'] },
          pbkdfIterations: I,
          pbkdfMemory: I,
          secret: { t: 'secret', required: true },
          noWipe: B,
          force: B,
        },
      },
    ],
  },
  resizeLimits: { args: [ID] },
  resizeVolume: { args: [ID, { kind: 'object', name: 'resizeVolume', shape: { size: I, wipe: B, confirmShrink: B } }] },
  listErrors: {
    args: [ID, { kind: 'object', name: 'listErrors', shape: { fromSector: I, limit: I, kind: { t: 'enum', values: ['all', 'bad', 'read-error'] } } }],
  },
  exportErrors: { args: [ID, { kind: 'object', name: 'exportErrors', shape: { format: { t: 'enum', values: ['json', 'csv'], required: true }, path: RP } }] },
  mapDamage: {
    args: [
      ID,
      {
        kind: 'object',
        name: 'mapDamage',
        shape: { kind: { t: 'enum', values: ['all', 'file', 'metadata', 'free', 'unmapped'] }, offset: I, limit: I, refresh: B },
      },
    ],
  },
  rewriteFreeBlocks: { args: [ID, { kind: 'object', name: 'rewriteFreeBlocks', shape: { confirm: B } }] },
  liveVolumes: { args: [] },
  watchLive: { args: [ID] },
  planLive: { args: [{ kind: 'object', name: 'planLive', shape: LIVE_CONTROL }] },
  controlLive: { args: [{ kind: 'object', name: 'controlLive', shape: LIVE_CONTROL }] },
  startLiveScrub: { args: [ID, { kind: 'object', name: 'startLiveScrub', shape: { maxMiBs: I, reset: B } }] },
  pauseLiveScrub: { args: [ID] },
  liveScrubProgress: { args: [ID] },
  liveKernelLog: { args: [ID] },
  mapLiveDamage: {
    args: [
      ID,
      {
        kind: 'object',
        name: 'mapLiveDamage',
        shape: { kind: { t: 'enum', values: ['all', 'file', 'metadata', 'free', 'unmapped'] }, offset: I, limit: I, refresh: B },
      },
    ],
  },
};

/** the command names, from the table (the transports build their calls from this) */
export const COMMAND_NAMES = Object.keys(COMMANDS) as CommandName[];

export type IntegrityEvent =
  | { type: 'volume'; volume: VolumeSnapshot }
  | { type: 'volume-removed'; id: string }
  | { type: 'progress'; id: string; progress: JobProgress }
  /** known damage while a scrub runs (bounded: counts, the first ranges, a coarse map; listErrors has the rest) */
  | { type: 'errors'; id: string; count: number; ranges: Array<[number, number]>; damage: DamageSummary }
  | { type: 'journal'; id: string; journal: JournalState | null }
  | { type: 'format-progress'; id: string; done: number; total: number; phase?: 'kdf' | 'wipe' }
  /** Replay journal on a bitmap-mode volume left dirty: the recalculation of its dirty regions (512-byte sectors
   *  reached of total; clean regions are skipped at once), with the time since it started */
  | { type: 'replay-progress'; id: string; done: number; total: number; elapsed_ms: number; finished: boolean }
  /** a LUKS2 keyslot KDF running for an unlock or a format (fraction of the estimated time: a guess until done) */
  | { type: 'kdf-progress'; id: string; kdf: string; elapsed_ms: number; estimate_ms: number; fraction: number; done: boolean }
  /** a watched kernel device, sampled about once a second while a page renews its watch (watchLive) */
  | { type: 'live'; name: string; snapshot: LiveSnapshot }
  /** a live scrub's progress (bounded: LiveScrubView) */
  | { type: 'live-scrub'; name: string; progress: LiveScrubView };

/** WebSocket / IPC frames */
export interface RequestFrame {
  id: number;
  cmd: CommandName;
  args: unknown[];
}
/** `code` names the kind of failure for a program (engine/errors.ts codes: ENOENT, EBUSY, EKEY, …); ECONFIRM: the
 *  command would destroy something that exists and asks for confirmation (the error says what would be lost) */
export type ResponseFrame = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string; code?: ErrorCode };
export interface EventFrame {
  event: IntegrityEvent;
}
