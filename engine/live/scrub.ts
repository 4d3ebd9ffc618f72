// startLiveScrub: a resumable scrub of an active, possibly mounted, integrity device, run in a worker thread
// (engine/live/scrub-worker.ts) like the offline jobs (engine/jobs/index.ts startJob): throttled progress events with
// rate and ETA, pause() at the next chunk with the position saved, and at the end the kernel's own account — its
// mismatch counter's increase over the scrub and the failures it logged for this device (/dev/kmsg).
import { Worker } from 'node:worker_threads';
import { IntegrityStudioError } from '../errors.js';
import type { LiveVolume } from './types.js';
import { findLiveVolume } from './discover.js';
import { readSuperblockDirect } from './superblock.js';
import { KmsgReader, messagesFor, type IntegrityMessage } from './kmsg.js';
import { PositionRate } from './sampler.js';
import { liveScrubStatePath, readLiveScrubState, resumeLiveScrubState, type LiveScrubState } from './scrub-state.js';
import { SECTOR, type LiveScrubGeometry, type LiveUncheckedReason } from './scrub-run.js';
import type { LiveScrubWorkerData, LiveScrubWorkerMessage } from './scrub-worker.js';
import { blockRef, systemRunner, SYSTEM_FILES, type SystemFiles, type ToolRunner } from './system.js';
import { runningElsewhere } from '../jobs/state.js';
import type { LiveScrubProgress } from './wire.js';

export type { LiveScrubProgress } from './wire.js';

export const LIVE_SCRUB_EVENTS_PER_SECOND = 4;

export interface LiveScrubOptions {
  maxBytesPerSecond?: number;
  /** start from sector 0 even if a paused scrub of this volume is saved */
  reset?: boolean;
  by?: 'cli' | 'dashboard';
  chunkBytes?: number;
  runner?: ToolRunner;
  files?: SystemFiles;
}

export interface LiveScrubHandle {
  readonly name: string;
  /** stops at the next chunk, saves the position, resolves with the 'paused' event */
  pause(): Promise<LiveScrubProgress>;
  readonly finished: Promise<LiveScrubProgress>;
}

const MAX_MESSAGES = 1000;

/** What the scrub reads and how the kernel treats it, for a discovered volume. */
export function liveScrubGeometry(v: LiveVolume, chunkBytes?: number): LiveScrubGeometry {
  const crypt = v.verified_by === 'dm-crypt' ? v.holders.find((h) => h.kind === 'crypt' && h.crypt?.integrity) : undefined;
  const blockBytes = crypt?.crypt ? crypt.crypt.sector_size : (v.table.options.block_size ?? 512);
  return {
    total_sectors: v.size_sectors,
    block_sectors: Math.max(1, blockBytes / SECTOR),
    mode: v.table.mode,
    verifier: v.verified_by,
    ...(v.table.mode === 'B' && v.table.options.sectors_per_bit ? { sectors_per_bit: v.table.options.sectors_per_bit } : {}),
    ...(chunkBytes ? { chunk_bytes: chunkBytes } : {}),
  };
}

function toProgress(
  v: Pick<LiveVolume, 'name'>,
  st: LiveScrubState,
  state: LiveScrubProgress['state'],
  rate: number | null,
  messages: IntegrityMessage[],
  lost: boolean,
  error?: string,
): LiveScrubProgress {
  const unchecked = (Object.entries(st.unchecked) as Array<[LiveUncheckedReason, number]>)
    .filter(([, n]) => n > 0)
    .map(([reason, blocks]) => ({ reason, blocks }));
  const bps = rate ?? 0;
  return {
    job: 'live-scrub',
    name: v.name,
    device: st.device,
    state,
    position_sector: st.position_sector,
    total_sectors: st.total_sectors,
    start_sector: st.start_sector,
    sectors_per_block: st.block_sectors,
    bytes_per_second: Math.round(bps),
    eta_ms: state === 'done' ? 0 : state === 'running' && bps > 0 ? Math.round((((st.total_sectors - st.position_sector) * SECTOR) / bps) * 1000) : null,
    checked_blocks: st.checked_blocks,
    bad_blocks: st.bad_blocks,
    bad_ranges: st.bad_ranges,
    read_errors: st.read_errors,
    read_error_ranges: st.read_error_ranges,
    unchecked_blocks: unchecked.reduce((a, u) => a + u.blocks, 0),
    unchecked,
    verified_by: st.verified_by,
    failed_reads: st.failed_reads,
    kernel_mismatches: st.kernel_mismatches,
    kernel_messages: messages,
    kernel_messages_lost: lost,
    started_at: st.started_at,
    state_file: liveScrubStatePath(v.name),
    ...(error ? { error } : {}),
  };
}

/** The saved live scrub of a device (paused or done) as a progress event, if any. */
export function savedLiveScrub(name: string): LiveScrubProgress | null {
  const st = readLiveScrubState(name);
  return st ? toProgress({ name }, st, st.state, null, [], true) : null;
}

export async function startLiveScrub(name: string, onProgress: (p: LiveScrubProgress) => void, opts: LiveScrubOptions = {}): Promise<LiveScrubHandle> {
  const runner = opts.runner ?? systemRunner;
  const files = opts.files ?? SYSTEM_FILES;
  const v = await findLiveVolume(name, { runner, files });
  if (!v) throw new IntegrityStudioError(`no active integrity device is named ${name}`, 'ENOENT');
  if (v.suspended) throw new IntegrityStudioError(`${name} is suspended: every read would wait until it is resumed`, 'EBUSY');
  if (v.verified_by === 'dm-crypt' && !v.scrub_device) throw new IntegrityStudioError(`${name} has no dm-crypt device above it to read through`, 'ENOENT');
  // the superblock names the volume, so a state saved for another volume under the same dm name is not resumed
  let sbId = 'unknown';
  const sbDev = v.superblock_device ?? blockRef(v.table.device, files).path;
  try {
    if (sbDev) sbId = readSuperblockDirect(sbDev, v.table.offset).volume_id;
  } catch {
    /* a device whose superblock we cannot read is still scrubbed; its state is then named by its uuid */
  }
  const geometry = liveScrubGeometry(v, opts.chunkBytes);
  const identity = `${v.uuid}|${sbId}`;
  const previous = readLiveScrubState(name, identity);
  if (runningElsewhere(previous)) throw new IntegrityStudioError(`a live scrub of ${name} is already running (pid ${previous!.running!.pid})`, 'EBUSY');
  const st = resumeLiveScrubState({
    name,
    device: v.scrub_device!,
    identity,
    verified_by: v.verified_by,
    total_sectors: geometry.total_sectors,
    block_sectors: geometry.block_sectors,
    ...(opts.reset ? { reset: true } : {}),
  });

  let kmsg: KmsgReader | null = null;
  try {
    kmsg = new KmsgReader().open();
  } catch {
    /* not readable: the messages stay empty and say so */
  }
  const names = [v.kernel_name, ...v.holders.filter((h) => h.kind === 'crypt').map((h) => h.kernel_name)];
  const messages: IntegrityMessage[] = [];
  const pollKmsg = () => {
    if (!kmsg) return;
    for (const m of messagesFor(kmsg.poll(), names)) if (messages.length < MAX_MESSAGES) messages.push(m);
  };

  const control = new SharedArrayBuffer(4);
  const flag = new Int32Array(control);
  const data: LiveScrubWorkerData = {
    name,
    geometry,
    state: st,
    by: opts.by ?? 'dashboard',
    control,
    ...(opts.maxBytesPerSecond ? { maxBytesPerSecond: opts.maxBytesPerSecond } : {}),
  };
  const worker = new Worker(new URL('./scrub-worker.js', import.meta.url), { workerData: data });
  const rate = new PositionRate(5000);
  let latest: LiveScrubState = st;
  let lastSent = 0;
  let pending: ReturnType<typeof setTimeout> | null = null;
  let ended = false;
  const minInterval = 1000 / LIVE_SCRUB_EVENTS_PER_SECOND;
  const send = () => {
    pending = null;
    if (ended) return;
    pollKmsg();
    onProgress(
      toProgress(v, latest, 'running', rate.sectorsPerSecond() === null ? null : rate.sectorsPerSecond()! * SECTOR, messages, !kmsg || (kmsg?.lost ?? 0) > 0),
    );
    lastSent = Date.now();
  };
  const finished = new Promise<LiveScrubProgress>((resolve) => {
    const finish = (state: LiveScrubProgress['state'], error?: string) => {
      if (ended) return;
      ended = true;
      if (pending) clearTimeout(pending);
      pollKmsg();
      kmsg?.close();
      const p = toProgress(
        v,
        latest,
        state,
        rate.sectorsPerSecond() === null ? null : rate.sectorsPerSecond()! * SECTOR,
        messages,
        !kmsg || (kmsg?.lost ?? 0) > 0,
        error,
      );
      onProgress(p);
      resolve(p);
    };
    worker.on('message', (m: LiveScrubWorkerMessage) => {
      if (m.type === 'progress') {
        latest = { ...latest, ...m.p };
        rate.add(Date.now(), m.p.position_sector);
        const wait = minInterval - (Date.now() - lastSent);
        if (wait <= 0) send();
        else if (!pending) pending = setTimeout(send, wait);
      } else if (m.type === 'final') {
        latest = m.p;
        finish(m.done ? 'done' : 'paused');
      } else {
        latest = m.p;
        finish('failed', m.error);
      }
    });
    worker.on('error', (e) => finish('failed', `live scrub worker failed: ${e.message}`));
    worker.on('exit', (code) => finish('failed', `live scrub worker exited (code ${code}) before finishing`));
  });
  // the first event at once: where this run starts (a resumed scrub: its saved position)
  onProgress(toProgress(v, st, 'running', null, messages, !kmsg));
  return {
    name,
    pause() {
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
      return finished;
    },
    finished,
  };
}
