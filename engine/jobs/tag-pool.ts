// Tags of a chunk computed on two cores: this thread hashes the first half of the blocks while a helper worker
// thread hashes the second half, both over one page-aligned shared buffer (no copies). Synchronous for the caller
// (Atomics.wait), so it runs inside a job's worker thread, never on a main thread. Hashing is the bottleneck of
// recalc and scrub for every algorithm but crc32c at 4 KiB, so this roughly doubles them on this 2-core machine.
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { createTagHasher, type TagHasher, type TagHasherOptions } from '../hash/index.js';
import { SECTOR_SIZE } from '../layout/superblock.js';

const WASM_PAGE = 65536;
declare const WebAssembly: { Memory: new (d: { initial: number; maximum: number; shared: boolean }) => { buffer: SharedArrayBuffer } };

/** A page-aligned Buffer over shared memory (the same page alignment as engine/io/aligned.ts). */
export function sharedAlignedBuffer(size: number): Buffer {
  const pages = Math.max(1, Math.ceil(size / WASM_PAGE));
  const mem = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  return Buffer.from(mem.buffer, 0, size);
}

/** control words: [0] generation posted to the helper, [1] generation it finished, [2] first block, [3] end block */
const GEN = 0;
const DONE = 1;
const FROM = 2;
const TO = 3;

export interface TagPoolData {
  hasher: TagHasherOptions;
  data: SharedArrayBuffer;
  dataBytes: number;
  tags: SharedArrayBuffer;
  control: SharedArrayBuffer;
  /** Float64Array[0]: first sector of the chunk */
  sector: SharedArrayBuffer;
  blockSize: number;
}

export class TagPool {
  readonly data: Buffer;
  readonly tags: Buffer;
  private readonly ctl: Int32Array;
  private readonly sectorBox: Float64Array;
  private readonly hasher: TagHasher;
  private readonly worker: Worker | null;
  private gen = 0;

  constructor(
    hasherOptions: TagHasherOptions,
    readonly blockSize: number,
    chunkBytes: number,
    threads = os.availableParallelism(),
  ) {
    this.hasher = createTagHasher(hasherOptions);
    this.data = sharedAlignedBuffer(chunkBytes);
    const tagBytes = (chunkBytes / blockSize) * this.hasher.tagSize;
    this.tags = Buffer.from(new SharedArrayBuffer(tagBytes));
    const control = new SharedArrayBuffer(16);
    const sector = new SharedArrayBuffer(8);
    this.ctl = new Int32Array(control);
    this.sectorBox = new Float64Array(sector);
    if (threads < 2) {
      this.worker = null;
      return;
    }
    const wd: TagPoolData = {
      hasher: hasherOptions,
      data: this.data.buffer as SharedArrayBuffer,
      dataBytes: chunkBytes,
      tags: this.tags.buffer as SharedArrayBuffer,
      control,
      sector,
      blockSize,
    };
    this.worker = new Worker(new URL('../worker/tag-helper.js', import.meta.url), { workerData: wd });
    this.worker.unref();
  }

  /** Computes the tags of the blocks in data[0..bytes) (first block at logical `sector`) into tags[0..]. */
  compute(sector: number, bytes: number): void {
    const nb = bytes / this.blockSize;
    const spb = this.blockSize / SECTOR_SIZE;
    const half = this.worker && nb >= 16 ? Math.floor(nb / 2) : nb;
    if (half < nb) {
      this.sectorBox[0] = sector;
      Atomics.store(this.ctl, FROM, half);
      Atomics.store(this.ctl, TO, nb);
      Atomics.store(this.ctl, GEN, ++this.gen);
      Atomics.notify(this.ctl, GEN);
    }
    hashBlocks(this.hasher, this.data, this.tags, sector, spb, this.blockSize, 0, half);
    if (half < nb) {
      while (Atomics.load(this.ctl, DONE) !== this.gen) Atomics.wait(this.ctl, DONE, this.gen - 1, 1000);
    }
  }

  close(): void {
    if (this.worker) {
      Atomics.store(this.ctl, GEN, -1);
      Atomics.notify(this.ctl, GEN);
      void this.worker.terminate();
    }
  }
}

export function hashBlocks(h: TagHasher, data: Buffer, tags: Buffer, sector: number, spb: number, bs: number, from: number, to: number): void {
  for (let b = from; b < to; b++) h.tag(sector + b * spb, data.subarray(b * bs, (b + 1) * bs), tags, b * h.tagSize);
}

export const CONTROL = { GEN, DONE, FROM, TO };
