// The IntegrityApi contract between the engine host (electron/host EngineHost, run by Electron's main process or by
// `integrity-studio serve`) and the dashboard (renderer/). Types only: plain data that crosses IPC and WebSockets.
// Keys never cross it: the renderer only learns whether a key is set.
import type { JobKind, JobProgress } from './jobs/types.js';
import type { JournalState } from './integrity/journal-writer.js';

export type { JobKind, JobProgress, JobState } from './jobs/types.js';
export type { JournalState } from './integrity/journal-writer.js';

export type VolumeMode = 'journal' | 'bitmap' | 'direct';
/** clean / recalculating (a job runs) / paused (a recalc or scrub stopped part way) / errors (bad blocks found) */
export type VolumeState = 'clean' | 'recalculating' | 'scrubbing' | 'paused' | 'errors' | 'formatting' | 'unreadable';

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
  state: VolumeState;
  /** bad blocks found by the last scrub (0 when never scrubbed) */
  error_count: number;
  bad_ranges: Array<[number, number]>;
  superblock: SuperblockInfo | null;
  geometry: GeometryInfo | null;
  journal: JournalState | null;
  /** the running or last job of each kind */
  jobs: Partial<Record<JobKind, JobProgress>>;
  /** whether a key is set (the key itself stays in the host) */
  keys: { integrity: boolean; journalIntegrity: boolean; journalCrypt: boolean };
  /** `integritysetup open …` and the dm table line equivalent to this volume */
  open_command: string;
  dm_table: string;
  /** one line naming the last problem, when there is one */
  error: string | null;
}

/** Options of the create form: integritysetup format's, keys given as hex (they stay in the host). */
export interface CreateVolumeRequest {
  path: string;
  /** bytes; the image is created sparse when it does not exist */
  size?: number;
  name?: string;
  integrity?: string;
  integrityKeyHex?: string;
  tagSize?: number;
  sectorSize?: number;
  journalSize?: number;
  interleaveSectors?: number;
  bufferSectors?: number;
  dataDevice?: string;
  noWipe?: boolean;
  integrityRecalculate?: boolean;
  legacyPadding?: boolean;
  legacyHmac?: boolean;
  journalIntegrity?: string;
  journalIntegrityKeyHex?: string;
  journalCrypt?: string;
  journalCryptKeyHex?: string;
  mode?: VolumeMode;
  force?: boolean;
}

export interface AddVolumeRequest {
  path: string;
  name?: string;
  dataDevice?: string;
  integrity?: string;
  integrityKeyHex?: string;
  mode?: VolumeMode;
}

export interface HostStatus {
  version: string;
  transport: 'electron' | 'websocket';
  algorithms: string[];
  jobs_available: boolean;
  volumes: VolumeSnapshot[];
}

/** Commands: every one resolves with plain data or rejects with one line naming the problem. */
export interface IntegrityApi {
  status(): Promise<HostStatus>;
  listVolumes(): Promise<VolumeSnapshot[]>;
  addVolume(req: AddVolumeRequest): Promise<VolumeSnapshot>;
  createVolume(req: CreateVolumeRequest): Promise<VolumeSnapshot>;
  removeVolume(id: string): Promise<void>;
  startRecalc(id: string): Promise<void>;
  pauseRecalc(id: string): Promise<void>;
  resumeRecalc(id: string): Promise<void>;
  resetRecalc(id: string): Promise<void>;
  startScrub(id: string): Promise<void>;
  pauseScrub(id: string): Promise<void>;
  resumeScrub(id: string): Promise<void>;
  /** Electron only: a native open/save dialog; resolves with the chosen path or null */
  pickPath?(kind: 'open' | 'save'): Promise<string | null>;
  /** subscribes to events; returns the unsubscribe function */
  onEvent(listener: (e: IntegrityEvent) => void): () => void;
}

export type IntegrityEvent =
  | { type: 'volume'; volume: VolumeSnapshot }
  | { type: 'volume-removed'; id: string }
  | { type: 'progress'; id: string; progress: JobProgress }
  | { type: 'errors'; id: string; count: number; ranges: Array<[number, number]> }
  | { type: 'journal'; id: string; journal: JournalState | null }
  | { type: 'format-progress'; id: string; done: number; total: number };

export type CommandName = Exclude<keyof IntegrityApi, 'onEvent' | 'pickPath'>;
export const COMMAND_NAMES: readonly CommandName[] = [
  'status', 'listVolumes', 'addVolume', 'createVolume', 'removeVolume',
  'startRecalc', 'pauseRecalc', 'resumeRecalc', 'resetRecalc', 'startScrub', 'pauseScrub', 'resumeScrub',
];

/** WebSocket / IPC frames */
export interface RequestFrame { id: number; cmd: CommandName; args: unknown[] }
export type ResponseFrame = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };
export interface EventFrame { event: IntegrityEvent }
