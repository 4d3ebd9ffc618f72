// Worker thread for `npm run torture`'s fuzz run: runs the cases and reports each one, so the main thread can
// bound each case's time and terminate a case that hangs (synchronous code cannot be interrupted otherwise).
import { parentPort, workerData } from 'node:worker_threads';
import { loadSeeds, runFuzz } from './fuzz.js';

const { seed, cases } = workerData as { seed: number; cases: number };
const seeds = loadSeeds(16 << 20);
parentPort!.postMessage({ type: 'start', next: seed >>> 0, nextImage: seeds[0]?.name });
let i = 0;
const sum = runFuzz(seeds, cases, seed, {
  writableEvery: 3,
  maxMs: 30000,
  onCase: (c) => {
    i++;
    // announce the next case first: if it hangs, the main thread knows which one
    parentPort!.postMessage({ type: 'case', case: c, next: (seed + i * 2654435761) >>> 0, nextImage: seeds[i % seeds.length]?.name });
  },
});
parentPort!.postMessage({ type: 'done', sum: { ...sum, failures: sum.failures.length } });
