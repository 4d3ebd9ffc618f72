// LUKS anti-forensic splitter (cryptsetup lib/luks1/af.c: AF_split, AF_merge, diffuse, hash_buf).
import crypto from 'node:crypto';
import { IntegrityStudioError } from '../errors.js';
import { nodeHash } from './header.js';

/** hash_buf: H(be32(iv) ‖ src), truncated to src.length */
function hashBuf(h: string, src: Buffer, iv: number): Buffer {
  const ivb = Buffer.alloc(4);
  ivb.writeUInt32BE(iv);
  return crypto.createHash(h).update(ivb).update(src).digest().subarray(0, src.length);
}

/** diffuse: each digest-sized piece of the block replaced by hash_buf of itself, numbered from 0 */
function diffuse(h: string, block: Buffer): void {
  const ds = crypto.createHash(h).digest().length;
  for (let i = 0, off = 0; off < block.length; i++, off += ds) {
    const piece = block.subarray(off, Math.min(off + ds, block.length));
    hashBuf(h, piece, i).copy(piece);
  }
}

function afHash(hash: string): string {
  const h = nodeHash(hash);
  if (!h) throw new IntegrityStudioError(`anti-forensic hash "${hash}" is not supported here`);
  return h;
}

function xorInto(dst: Buffer, a: Buffer, b: Buffer): void {
  if (a.length < dst.length || b.length < dst.length) throw new RangeError(`xorInto: ${a.length}- and ${b.length}-byte inputs for ${dst.length} bytes`);
  for (let i = 0; i < dst.length; i++) dst[i] = a[i]! ^ b[i]!; // in range: both are at least dst.length long
}

/** AF_merge: the key of `blocksize` bytes from `stripes` split blocks. */
export function afMerge(src: Buffer, blocksize: number, stripes: number, hash: string): Buffer {
  const h = afHash(hash);
  if (src.length < blocksize * stripes) throw new IntegrityStudioError('anti-forensic data is shorter than key size × stripes');
  const buf = Buffer.alloc(blocksize);
  let i = 0;
  for (; i < stripes - 1; i++) {
    xorInto(buf, src.subarray(blocksize * i, blocksize * (i + 1)), buf);
    diffuse(h, buf);
  }
  const out = Buffer.alloc(blocksize);
  xorInto(out, src.subarray(blocksize * i, blocksize * (i + 1)), buf);
  buf.fill(0);
  return out;
}

/** AF_split: `stripes` blocks, all random but the last, which makes AF_merge return `key`. */
export function afSplit(key: Buffer, stripes: number, hash: string): Buffer {
  const h = afHash(hash);
  const bs = key.length;
  const dst = Buffer.alloc(bs * stripes);
  const buf = Buffer.alloc(bs);
  let i = 0;
  for (; i < stripes - 1; i++) {
    const blk = dst.subarray(bs * i, bs * (i + 1));
    crypto.randomFillSync(blk);
    xorInto(buf, blk, buf);
    diffuse(h, buf);
  }
  xorInto(dst.subarray(bs * i, bs * (i + 1)), key, buf);
  buf.fill(0);
  return dst;
}

/** AF_split_sectors: 512-byte sectors the split key occupies */
export function afSectors(keySize: number, stripes: number): number {
  return Math.ceil((keySize * stripes) / 512);
}
