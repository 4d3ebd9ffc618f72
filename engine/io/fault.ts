// FaultDevice: a BlockDevice that records every write and flush so a test can "lose power" at any point of
// the log and get the image a real disk could hold afterwards. Writes completed before the last completed
// flush are durable; each write since then is independently kept, dropped, or torn at 512-byte sector
// granularity (a disk guarantees sector atomicity, nothing more), and the survivors land in a random order
// (a volatile write cache reorders freely). Everything is driven by a seeded PRNG, so a failing crash point is
// reproducible from its seed.
import { IntegrityStudioError } from '../errors.js';
import { MemoryDevice, type BlockDevice } from './device.js';

export const FAULT_SECTOR = 512;

/** mulberry32: small, fast, seeded; good enough to pick crash points and fates */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type FaultOp = { kind: 'write'; pos: number; data: Buffer } | { kind: 'flush' };

export interface CrashOptions {
  /** probability that an unflushed write survives whole (default 1/3) */
  keep?: number;
  /** probability that an unflushed write is lost whole (default 1/3); the rest are torn */
  drop?: number;
}

/** An error as node:fs throws it for a failed system call (code EIO, ENOSPC, …). */
export function ioError(code: 'EIO' | 'ENOSPC' | 'ENXIO', syscall: string, name: string): NodeJS.ErrnoException {
  const text = { EIO: 'i/o error', ENOSPC: 'no space left on device', ENXIO: 'no such device or address' }[code];
  const errno = { EIO: -5, ENOSPC: -28, ENXIO: -6 }[code];
  return Object.assign(new Error(`${code}: ${text}, ${syscall} (${name})`), { code, errno, syscall });
}

export class FaultDevice implements BlockDevice {
  /** [first, end) 512-byte sectors whose reads fail with EIO (a bad disk sector) */
  readonly readFaults: Array<[number, number]> = [];
  /** bytes that may still be written before writes fail with ENOSPC (a full file system under a sparse image) */
  spaceLeft = Infinity;
  /** every read and write fails with EIO from the `vanishAfterReads`-th read on (a disconnected device) */
  vanishAfterReads = Infinity;
  reads = 0;
  /** faults injected so far, by kind */
  readonly injected = { eio: 0, enospc: 0, vanished: 0 };
  readonly readOnly = false;
  /** every write and flush, in order; crashAt(n) considers the first n of them */
  readonly log: FaultOp[] = [];
  private readonly base: Buffer;
  private readonly current: MemoryDevice;
  private closed = false;

  /** `image` is the durable contents before the first logged operation (copied). */
  constructor(
    image: Buffer,
    readonly name = 'fault',
  ) {
    this.base = Buffer.from(image);
    this.current = new MemoryDevice(Buffer.from(image), false, name);
  }

  get size(): number {
    return this.base.length;
  }

  /** reads of sectors [first, end) fail with EIO from now on */
  failReads(first: number, end: number): this {
    this.readFaults.push([first, end]);
    return this;
  }

  read(buf: Uint8Array, pos: number): void {
    if (++this.reads > this.vanishAfterReads) {
      this.injected.vanished++;
      throw ioError('EIO', 'read', this.name);
    }
    const first = Math.floor(pos / FAULT_SECTOR);
    const end = Math.ceil((pos + buf.length) / FAULT_SECTOR);
    for (const [a, b] of this.readFaults) {
      if (a < end && first < b) {
        this.injected.eio++;
        throw ioError('EIO', 'read', this.name);
      }
    }
    this.current.read(buf, pos);
  }

  write(buf: Uint8Array, pos: number): void {
    if (this.closed) throw new IntegrityStudioError(`${this.name}: write after close`, 'EIO');
    if (this.reads > this.vanishAfterReads) throw ioError('EIO', 'write', this.name);
    if (buf.length > this.spaceLeft) {
      this.injected.enospc++;
      throw ioError('ENOSPC', 'write', this.name);
    }
    this.spaceLeft -= buf.length;
    this.current.write(buf, pos);
    this.log.push({ kind: 'write', pos, data: Buffer.from(buf) });
  }

  flush(): void {
    this.log.push({ kind: 'flush' });
  }

  close(): void {
    this.closed = true;
  }

  /** The image as it is now, as if every write had reached the medium. */
  image(): Buffer {
    return Buffer.from(this.current.data);
  }

  /**
   * The image after a power loss when the first `n` logged operations had been issued: all writes before the
   * last flush among them are applied in order; the writes after it each survive, vanish or are torn by
   * sectors, and the surviving pieces are applied in a random order.
   */
  crashAt(n: number, seed: number, o: CrashOptions = {}): Buffer {
    return crashImage(this.base, this.log, n, prng(seed), o);
  }
}

/** Index just past the last flush among the first n operations (0 when none). */
export function lastFlushBefore(log: readonly FaultOp[], n: number): number {
  for (let i = Math.min(n, log.length) - 1; i >= 0; i--) if (log[i]!.kind === 'flush') return i + 1;
  return 0;
}

export function crashImage(base: Buffer, log: readonly FaultOp[], n: number, rand: () => number, o: CrashOptions = {}): Buffer {
  const img = Buffer.from(base);
  const stable = lastFlushBefore(log, n);
  for (let i = 0; i < stable; i++) {
    const op = log[i]!;
    if (op.kind === 'write') op.data.copy(img, op.pos);
  }
  applyUnflushed(img, log.slice(stable, n), rand, o);
  return img;
}

/** Applies the fates of writes issued after the last flush to `img` (in place). */
export function applyUnflushed(img: Buffer, ops: readonly FaultOp[], rand: () => number, o: CrashOptions = {}): void {
  const keep = o.keep ?? 1 / 3;
  const drop = o.drop ?? 1 / 3;
  const pieces: Array<{ pos: number; data: Buffer }> = [];
  for (const op of ops) {
    if (op.kind !== 'write') continue;
    const r = rand();
    if (r < keep) pieces.push({ pos: op.pos, data: op.data });
    else if (r < keep + drop) continue;
    else {
      // torn: each 512-byte sector (of the device, so a write not aligned to sectors tears at device sectors)
      let p = op.pos;
      const end = op.pos + op.data.length;
      while (p < end) {
        const next = Math.min(end, (Math.floor(p / FAULT_SECTOR) + 1) * FAULT_SECTOR);
        if (rand() < 0.5) pieces.push({ pos: p, data: op.data.subarray(p - op.pos, next - op.pos) });
        p = next;
      }
    }
  }
  // a volatile cache reaches the medium in any order
  for (let i = pieces.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [pieces[i], pieces[j]] = [pieces[j]!, pieces[i]!];
  }
  for (const p of pieces) p.data.copy(img, p.pos);
}
