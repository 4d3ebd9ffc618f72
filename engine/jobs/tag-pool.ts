// Tags of a chunk computed on every core while the caller reads the next one. Two page-aligned shared buffers
// (read chunk N+1 into one while chunk N in the other is hashed); begin() starts hashing a chunk and returns,
// finish() completes it. Synchronous for the caller (it blocks in finish), so it runs inside a job's worker thread.
//  - native addon (engine/hash/native.ts): begin() hands the run to the addon's helper threads (cores − 1);
//    finish() makes this thread hash whatever blocks are left, then waits. No extra JS worker, no copies.
//  - JavaScript fallback: a helper worker thread hashes the second half of the chunk from begin(), this thread
//    the first half in finish() (the same two-core split as before the addon, now overlapping the next read).
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { createTagHasher, type TagHasher, type TagHasherOptions } from '../hash/index.js';
import { SECTOR_SIZE } from '../layout/superblock.js';
import type { NativeSource } from '../io/device.js';

const WASM_PAGE = 65536;
declare const WebAssembly: { Memory: new (d: { initial: number; maximum: number; shared: boolean }) => { buffer: SharedArrayBuffer } };

/** A page-aligned Buffer over shared memory (the same page alignment as engine/io/aligned.ts). */
export function sharedAlignedBuffer(size: number): Buffer {
  const pages = Math.max(1, Math.ceil(size / WASM_PAGE));
  const mem = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  return Buffer.from(mem.buffer, 0, size);
}

/** control words: [0] generation posted to the helper, [1] generation it finished, [2] first block, [3] end block, [4] buffer */
const GEN = 0;
const DONE = 1;
const FROM = 2;
const TO = 3;
const BUF = 4;

export interface TagPoolData {
  hasher: TagHasherOptions;
  data: [SharedArrayBuffer, SharedArrayBuffer];
  dataBytes: number;
  tags: SharedArrayBuffer;
  control: SharedArrayBuffer;
  /** Float64Array[0]: first sector of the chunk */
  sector: SharedArrayBuffer;
  blockSize: number;
}

export class TagPool {
  /** the two chunk buffers; `data` is the first */
  readonly buffers: [Buffer, Buffer];
  readonly data: Buffer;
  readonly tags: Buffer;
  private readonly ctl: Int32Array;
  private readonly sectorBox: Float64Array;
  private readonly hasher: TagHasher;
  private readonly worker: Worker | null = null;
  private gen = 0;
  /** the run begun and not finished: [buffer, sector, blocks, first block this thread hashes] */
  private pending: { buf: Buffer; sector: number; nb: number; half: number } | null = null;

  constructor(
    hasherOptions: TagHasherOptions,
    readonly blockSize: number,
    chunkBytes: number,
    threads = os.availableParallelism(),
  ) {
    this.hasher = createTagHasher(hasherOptions);
    this.buffers = [sharedAlignedBuffer(chunkBytes), sharedAlignedBuffer(chunkBytes)];
    // fault every page in now (part of the job's start), not in the first chunks' reads (2 × 16 MiB for recalc:
    // 8192 page faults and their zeroing, seen in perf as exc_page_fault + clear_page_erms)
    for (const b of this.buffers) b.fill(0);
    this.data = this.buffers[0];
    const tagBytes = (chunkBytes / blockSize) * this.hasher.tagSize;
    this.tags = Buffer.from(new SharedArrayBuffer(tagBytes));
    const control = new SharedArrayBuffer(20);
    const sector = new SharedArrayBuffer(8);
    this.ctl = new Int32Array(control);
    this.sectorBox = new Float64Array(sector);
    if (this.hasher.beginRun || threads < 2) return;
    const wd: TagPoolData = {
      hasher: hasherOptions,
      data: [this.buffers[0].buffer as SharedArrayBuffer, this.buffers[1].buffer as SharedArrayBuffer],
      dataBytes: chunkBytes,
      tags: this.tags.buffer as SharedArrayBuffer,
      control,
      sector,
      blockSize,
    };
    this.worker = new Worker(new URL('../worker/tag-helper.js', import.meta.url), { workerData: wd });
    this.worker.unref();
  }

  /** whether the native addon hashes (else the JavaScript hashes with a helper worker) */
  get native(): boolean {
    return this.hasher.native;
  }

  /** Starts computing the tags of buffers[which][0..bytes) (first block at logical `sector`) into tags[0..]. */
  begin(which: 0 | 1, sector: number, bytes: number): void {
    if (this.pending) this.finish();
    const buf = this.buffers[which];
    const nb = bytes / this.blockSize;
    if (this.hasher.beginRun) {
      this.hasher.beginRun(sector, this.blockSize, buf.subarray(0, bytes), this.tags);
      this.pending = { buf, sector, nb, half: nb };
      return;
    }
    const half = this.worker && nb >= 16 ? Math.floor(nb / 2) : nb;
    if (half < nb) {
      this.sectorBox[0] = sector;
      Atomics.store(this.ctl, FROM, half);
      Atomics.store(this.ctl, TO, nb);
      Atomics.store(this.ctl, BUF, which);
      Atomics.store(this.ctl, GEN, ++this.gen);
      Atomics.notify(this.ctl, GEN);
    }
    this.pending = { buf, sector, nb, half };
  }

  /**
   * Native only: reads `bytes` from `src` into buffers[which] and computes their tags, both on every core (each
   * thread preads a batch, then hashes it while it is in its cache). False when it cannot (no addon): the caller
   * reads and calls begin(). finish() then says whether every read succeeded.
   */
  beginRead(which: 0 | 1, src: NativeSource, sector: number, bytes: number): boolean {
    if (!this.hasher.beginReadRun) return false;
    if (this.pending) this.finish();
    const buf = this.buffers[which];
    this.hasher.beginReadRun(src.fd, src.pos, sector, this.blockSize, buf.subarray(0, bytes), this.tags);
    this.pending = { buf, sector, nb: bytes / this.blockSize, half: bytes / this.blockSize };
    return true;
  }

  /**
   * Completes the run begun: the tags are in `tags` when it returns. 0, or after a beginRead() whose read failed
   * its errno (-1: end of file): buffer and tags are then incomplete, and the caller reads the run its own way
   * (which raises the error in its device's words).
   */
  finish(): number {
    const p = this.pending;
    if (!p) return 0;
    this.pending = null;
    if (this.hasher.finishRun) return this.hasher.finishRun();
    hashBlocks(this.hasher, p.buf, this.tags, p.sector, this.blockSize / SECTOR_SIZE, this.blockSize, 0, p.half);
    if (p.half < p.nb) {
      while (Atomics.load(this.ctl, DONE) !== this.gen) Atomics.wait(this.ctl, DONE, this.gen - 1, 1000);
    }
    return 0;
  }

  /** Computes the tags of the blocks in data[0..bytes) (first block at logical `sector`) into tags[0..]. */
  compute(sector: number, bytes: number): void {
    this.begin(0, sector, bytes);
    this.finish();
  }

  close(): void {
    this.finish();
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

export const CONTROL = { GEN, DONE, FROM, TO, BUF };
