// Messages between a job's worker thread and the thread that started it (engine/jobs/index.ts).
import type { JobSpec } from '../jobs/types.js';
import type { RawProgress } from '../jobs/run.js';

export interface JobWorkerData {
  spec: JobSpec;
  /** Int32Array over it: [0] = 1 asks the job to pause at the next chunk boundary */
  control: SharedArrayBuffer;
}

export type JobWorkerMessage = { type: 'progress'; p: RawProgress } | { type: 'final'; p: RawProgress; done: boolean } | { type: 'failed'; error: string };
