// File-system block reads for the mappers: a small cache, and a note of every structure read that lies in a bad
// range (its bytes may be wrong, so answers derived from it are labelled uncertain).
import { IntegrityStudioError } from '../errors.js';
import { SECTOR_SIZE } from '../layout/superblock.js';
import type { RangeSet } from './ranges.js';
import type { SectorSource } from './sector-source.js';
import type { SectorRange } from './types.js';

/** A structure could not be used: the message completes "could not map: …" (a corrupt or truncated file system:
 *  EFORMAT when one ever leaves the mapper, which catches and reports them per item). */
export class MapError extends IntegrityStudioError {
  constructor(message: string) {
    super(message, 'EFORMAT');
    this.name = 'MapError';
  }
}

const CACHE_BLOCKS = 512;
const MAX_NOTED = 64;

export class BlockReader {
  readonly spb: number;
  blocksRead = 0;
  /** structures read that lie in a bad range (capped) */
  readonly damaged: string[] = [];
  /** set by a read of a bad structure; callers clear it before deriving an answer and look after */
  taint: string | null = null;
  private cache = new Map<number, Buffer>();

  constructor(
    readonly src: SectorSource,
    readonly bad: RangeSet,
    readonly blockSize: number,
    /** blocks the file system has (reads past it are refused as pointing past the end) */
    public fsBlocks: number,
  ) {
    this.spb = blockSize / SECTOR_SIZE;
  }

  /** whether any sector of blocks [block, block + count) is bad */
  isBad(block: number, count = 1): boolean {
    return this.bad.intersects(block * this.spb, (block + count) * this.spb);
  }

  /** notes that `what` lies in a bad range (when it does) and taints the current answer */
  noteIfBad(block: number, count: number, what: string): boolean {
    if (!this.isBad(block, count)) return false;
    this.taint ??= what;
    if (this.damaged.length < MAX_NOTED && !this.damaged.includes(what)) this.damaged.push(what);
    return true;
  }

  /** Reads blocks [block, block + count) holding `what`; MapError when they lie outside the file system or volume,
   *  or their contents are unreadable (a LUKS2 sector failing authentication). */
  read(block: number, count: number, what: string, cache = count === 1): Buffer {
    if (!Number.isSafeInteger(block) || block < 0 || count < 1 || block + count > this.fsBlocks) {
      throw new MapError(`${what} points past the end of the file system (block ${block}, ${this.fsBlocks} blocks)`);
    }
    const first = block * this.spb;
    const n = count * this.spb;
    if (first + n > this.src.sectors) {
      throw new MapError(`${what} lies past the end of the volume (block ${block}; the volume has ${this.src.sectors} sectors: is it truncated?)`);
    }
    this.noteIfBad(block, count, what);
    if (cache) {
      const hit = this.cache.get(block);
      if (hit) return hit;
    }
    const buf = Buffer.allocUnsafe(n * SECTOR_SIZE);
    let unreadable: SectorRange[] | null;
    try {
      unreadable = this.src.read(first, n, buf);
    } catch (e) {
      throw new MapError(`reading ${what} failed: ${(e as Error).message}`);
    }
    this.blocksRead += count;
    const firstUnreadable = unreadable?.[0];
    if (firstUnreadable) {
      throw new MapError(`the block holding ${what} is itself damaged (sector ${firstUnreadable[0]} cannot be read)`);
    }
    if (cache) {
      if (this.cache.size >= CACHE_BLOCKS) this.cache.delete(this.cache.keys().next().value as number);
      this.cache.set(block, buf);
    }
    return buf;
  }

  /** Reads `bytes` bytes at byte position `pos` of the volume (structures smaller than a block: XFS AG headers). */
  readBytes(pos: number, bytes: number, what: string): Buffer {
    const first = Math.floor(pos / SECTOR_SIZE);
    const end = Math.ceil((pos + bytes) / SECTOR_SIZE);
    if (end > this.src.sectors) throw new MapError(`${what} lies past the end of the volume (byte ${pos})`);
    const buf = Buffer.allocUnsafe((end - first) * SECTOR_SIZE);
    let unreadable: SectorRange[] | null;
    try {
      unreadable = this.src.read(first, end - first, buf);
    } catch (e) {
      throw new MapError(`reading ${what} failed: ${(e as Error).message}`);
    }
    const firstUnreadable = unreadable?.[0];
    if (firstUnreadable) throw new MapError(`the block holding ${what} is itself damaged (sector ${firstUnreadable[0]} cannot be read)`);
    if (this.bad.intersects(first, end)) {
      this.taint ??= what;
      if (this.damaged.length < MAX_NOTED && !this.damaged.includes(what)) this.damaged.push(what);
    }
    return buf.subarray(pos - first * SECTOR_SIZE, pos - first * SECTOR_SIZE + bytes);
  }
}
