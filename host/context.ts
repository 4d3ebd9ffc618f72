// What the host's parts share (the thin EngineHost composes them): the volume list, the event hub, this host's
// start time, the job starter (worker threads; tests inject another), and how a volume's snapshot is made and sent.
import type { JobProgress, VolumeSnapshot } from '../engine/api.js';
import type { JobHandle, JobSpec } from '../engine/jobs/types.js';
import type { EventHub } from './events.js';
import type { Entry, VolumeStore } from './volumes.js';

export type StartJob = (spec: JobSpec, onProgress: (p: JobProgress) => void) => JobHandle;

export interface HostContext {
  readonly store: VolumeStore;
  readonly events: EventHub;
  readonly startedAt: string;
  readonly startJob: StartJob | null;
  snapshot(e: Entry): VolumeSnapshot;
  /** the volume's snapshot sent to every subscriber (its signature noted for the poller) */
  emitVolume(e: Entry): VolumeSnapshot;
}
