// BlockDevice: positional, synchronous I/O on a regular file, a block device or memory.
// Synchronous on purpose: long work runs in worker threads, and a synchronous interface makes the
// fault-injecting device (tests) and the write ordering (journal, then data, then flush) explicit.
import fs from 'node:fs';
import path from 'node:path';
import { errnoCode, IntegrityStudioError } from '../errors.js';
import { acquireWriteLock, checkNotWriting, type WriteLock } from './lock.js';

export interface BlockDevice {
  /** size in bytes */
  readonly size: number;
  readonly readOnly: boolean;
  readonly name: string;
  /** reads exactly buf.length bytes at byte offset `pos`; throws on a short read */
  read(buf: Uint8Array, pos: number): void;
  /** writes all of buf at byte offset `pos` */
  write(buf: Uint8Array, pos: number): void;
  /** makes every completed write durable (fdatasync) */
  flush(): void;
  close(): void;
  /** true when a write may need space the file system has not allocated yet (a sparse regular file): writers then
   *  reserve the blocks first (journal-writer.ts, write.ts), so ENOSPC strikes before anything changes */
  hasHoles?(): boolean;
  /** the file descriptor and byte offset at which byte `pos` of this device sits, for the native read-and-hash runs
   *  (engine/jobs/tag-pool.ts beginRead); absent or null where reads must go through read() (tests' fault devices) */
  nativeSource?(pos: number): NativeSource | null;
}

/** A byte position in an open file descriptor (engine/io/device.ts nativeSource). */
export interface NativeSource {
  fd: number;
  pos: number;
}

export interface OpenOptions {
  readOnly?: boolean;
  /** a read of the superblock alone while another process writes is allowed: the superblock sector is written
   *  whole (the kernel's and our sync_superblock), so it reads as the old one or the new one */
  superblockOnly?: boolean;
}

/** Size of a block device in bytes, from sysfs (Node has no BLKGETSIZE64 ioctl). */
export function blockDeviceSize(st: fs.Stats): number {
  const major = Number(BigInt(st.rdev) >> 8n) & 0xfff;
  const minor = (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00);
  const p = `/sys/dev/block/${major}:${minor}/size`;
  try {
    return Number(fs.readFileSync(p, 'utf8').trim()) * 512;
  } catch {
    throw new IntegrityStudioError(`cannot find the size of block device (${p} unreadable)`, 'EIO');
  }
}

export class FileDevice implements BlockDevice {
  readonly size: number;
  private fd: number;
  private closed = false;
  private lock: WriteLock | null = null;

  private constructor(
    readonly name: string,
    fd: number,
    size: number,
    readonly readOnly: boolean,
    readonly isBlockDevice: boolean,
  ) {
    this.fd = fd;
    this.size = size;
  }

  static open(file: string, o: OpenOptions = {}): FileDevice {
    const readOnly = o.readOnly ?? true;
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'ENOENT') throw new IntegrityStudioError(`${file}: no such file or device`, 'ENOENT');
      throw new IntegrityStudioError(`${file}: ${err.message}`, errnoCode(err));
    }
    if (st.isDirectory()) throw new IntegrityStudioError(`${file}: is a directory, not an image or block device`);
    const isBlock = st.isBlockDevice();
    let flags = readOnly ? fs.constants.O_RDONLY : fs.constants.O_RDWR;
    // O_EXCL on a block device is Linux's exclusive open: it fails with EBUSY when mounted or held by dm.
    if (isBlock && !readOnly) flags |= fs.constants.O_EXCL;
    // exclusive opens between our processes (io/lock.ts): one writer, and no reader while it writes
    let lock: WriteLock | null = null;
    if (!readOnly) lock = acquireWriteLock(file);
    else if (!o.superblockOnly) checkNotWriting(file);
    let fd: number;
    try {
      fd = fs.openSync(file, flags);
    } catch (e) {
      lock?.release();
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'EBUSY') throw new IntegrityStudioError(`${file}: device is in use (mounted or held by another program)`, 'EBUSY');
      if (err.code === 'EACCES' || err.code === 'EPERM') throw new IntegrityStudioError(`${file}: permission denied`, err.code);
      if (err.code === 'EROFS') throw new IntegrityStudioError(`${file}: read-only file system`, err.code);
      throw new IntegrityStudioError(`${file}: ${err.message}`, errnoCode(err));
    }
    let size: number;
    try {
      size = isBlock ? blockDeviceSize(st) : st.size;
    } catch (e) {
      fs.closeSync(fd);
      lock?.release();
      throw e;
    }
    const dev = new FileDevice(path.basename(file), fd, size, readOnly, isBlock);
    dev.lock = lock;
    return dev;
  }

  read(buf: Uint8Array, pos: number): void {
    let done = 0;
    while (done < buf.length) {
      const n = fs.readSync(this.fd, buf, done, buf.length - done, pos + done);
      if (n === 0) {
        throw new IntegrityStudioError(`${this.name}: short read at byte ${pos + done} (the image is truncated: ${this.size} bytes)`, 'ETRUNC');
      }
      done += n;
    }
  }

  write(buf: Uint8Array, pos: number): void {
    if (this.readOnly) throw new IntegrityStudioError(`${this.name}: opened read-only`, 'EROFS');
    let done = 0;
    while (done < buf.length) done += fs.writeSync(this.fd, buf, done, buf.length - done, pos + done);
  }

  flush(): void {
    if (!this.readOnly) fs.fdatasyncSync(this.fd);
  }

  nativeSource(pos: number): NativeSource | null {
    return this.closed ? null : { fd: this.fd, pos };
  }

  hasHoles(): boolean {
    if (this.readOnly || this.isBlockDevice) return false;
    const st = fs.fstatSync(this.fd);
    return st.blocks * 512 < st.size;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      fs.closeSync(this.fd);
    } finally {
      this.lock?.release();
    }
  }
}

/** A device in memory, for tests. */
export class MemoryDevice implements BlockDevice {
  readonly data: Buffer;
  writes = 0;
  flushes = 0;
  constructor(
    sizeOrData: number | Buffer,
    readonly readOnly = false,
    readonly name = 'memory',
  ) {
    this.data = typeof sizeOrData === 'number' ? Buffer.alloc(sizeOrData) : sizeOrData;
  }
  get size(): number {
    return this.data.length;
  }
  read(buf: Uint8Array, pos: number): void {
    if (pos + buf.length > this.data.length) {
      throw new IntegrityStudioError(`${this.name}: short read at byte ${pos} (the image is truncated: ${this.size} bytes)`, 'ETRUNC');
    }
    buf.set(this.data.subarray(pos, pos + buf.length));
  }
  write(buf: Uint8Array, pos: number): void {
    if (this.readOnly) throw new IntegrityStudioError(`${this.name}: opened read-only`, 'EROFS');
    if (pos + buf.length > this.data.length) throw new IntegrityStudioError(`${this.name}: write past the end at byte ${pos}`, 'ENOSPC');
    this.data.set(buf, pos);
    this.writes++;
  }
  flush(): void {
    this.flushes++;
  }
  close(): void {}
}
