// The second core of a TagPool (engine/jobs/tag-pool.ts): waits for a chunk generation, hashes its share of the
// blocks in the shared buffer, reports the generation done.
import { workerData } from 'node:worker_threads';
import { createTagHasher } from '../hash/index.js';
import { CONTROL, hashBlocks, type TagPoolData } from '../jobs/tag-pool.js';
import { SECTOR_SIZE } from '../layout/superblock.js';

const wd = workerData as TagPoolData;
const data = [Buffer.from(wd.data[0], 0, wd.dataBytes), Buffer.from(wd.data[1], 0, wd.dataBytes)];
// the JavaScript hashes: this helper exists only when the native addon is not used
wd.hasher = { ...wd.hasher, native: false };
const tags = Buffer.from(wd.tags);
const ctl = new Int32Array(wd.control);
const sectorBox = new Float64Array(wd.sector);
const hasher = createTagHasher(wd.hasher);
const spb = wd.blockSize / SECTOR_SIZE;
let seen = 0;
for (;;) {
  Atomics.wait(ctl, CONTROL.GEN, seen);
  const gen = Atomics.load(ctl, CONTROL.GEN);
  if (gen < 0) break;
  if (gen === seen) continue;
  seen = gen;
  hashBlocks(
    hasher,
    data[Atomics.load(ctl, CONTROL.BUF)]!,
    tags,
    sectorBox[0]!,
    spb,
    wd.blockSize,
    Atomics.load(ctl, CONTROL.FROM),
    Atomics.load(ctl, CONTROL.TO),
  );
  Atomics.store(ctl, CONTROL.DONE, gen);
  Atomics.notify(ctl, CONTROL.DONE);
}
