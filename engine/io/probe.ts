// Existing-content detection before a destructive format, like the blkid probe integritysetup runs
// (tools_detect_signatures): dm-integrity, LUKS1/2 (and the LUKS2 secondary header), ext2/3/4, xfs, btrfs,
// swap, vfat, ntfs, iso9660, MBR and GPT partition tables. Reads only; reports where each magic lies so a
// forced format can erase exactly those bytes (as wipefs / tools_wipe_all_signatures do).
import { statSync as fsStat } from 'node:fs';
import { errnoCode, IntegrityStudioError } from '../errors.js';
import { formatBytes } from '../units.js';
import { FileDevice, type BlockDevice } from './device.js';

export interface Signature {
  /** short type name: dm-integrity, LUKS1, LUKS2, ext2, ext3, ext4, xfs, btrfs, swap, vfat, ntfs, iso9660, mbr, gpt */
  type: string;
  /** what it is, for a sentence: "an ext4 filesystem" */
  description: string;
  /** byte offset and length of the magic on the device */
  offset: number;
  length: number;
  /** the device path, filled in by callers that probe several devices */
  device?: string;
}

/** How much of the start of a device is examined: up to the last LUKS2 secondary header offset (4 MiB) + a sector. */
const PROBE_BYTES = 4 * 1024 * 1024 + 4096;
const LUKS2_SECONDARY_OFFSETS = [0x4000, 0x8000, 0x10000, 0x20000, 0x40000, 0x80000, 0x100000, 0x200000, 0x400000];

function at(buf: Buffer, off: number, magic: string | Buffer): boolean {
  const m = typeof magic === 'string' ? Buffer.from(magic, 'latin1') : magic;
  return off + m.length <= buf.length && buf.subarray(off, off + m.length).equals(m);
}

/** Examines the start of `buf` (the first bytes of a device of `size` bytes). */
export function probeBuffer(buf: Buffer): Signature[] {
  const found: Signature[] = [];
  const add = (type: string, description: string, offset: number, length: number) => found.push({ type, description, offset, length });
  if (at(buf, 0, 'integrt\0')) add('dm-integrity', 'a dm-integrity volume', 0, 8);
  if (at(buf, 0, Buffer.from('LUKS\xba\xbe', 'latin1'))) {
    const v = buf.length >= 8 ? buf.readUInt16BE(6) : 0;
    add(v === 2 ? 'LUKS2' : 'LUKS1', v === 2 ? 'a LUKS2 encrypted volume' : 'a LUKS1 encrypted volume', 0, 6);
  }
  for (const off of LUKS2_SECONDARY_OFFSETS) {
    if (at(buf, off, Buffer.from('SKUL\xba\xbe', 'latin1'))) add('LUKS2', 'a LUKS2 encrypted volume (secondary header)', off, 6);
  }
  if (buf.length >= 1024 + 104 && buf.readUInt16LE(1024 + 56) === 0xef53) {
    const compat = buf.readUInt32LE(1024 + 92);
    const incompat = buf.readUInt32LE(1024 + 96);
    const roCompat = buf.readUInt32LE(1024 + 100);
    // ext4 features: extents, 64bit, flex_bg (incompat); huge_file, gdt_csum, dir_nlink, extra_isize (ro_compat)
    const type = incompat & 0x2c0 || roCompat & 0x78 ? 'ext4' : compat & 0x4 ? 'ext3' : 'ext2';
    add(type, `an ${type} filesystem`, 1024 + 56, 2);
  }
  if (at(buf, 0, 'XFSB')) add('xfs', 'an xfs filesystem', 0, 4);
  if (at(buf, 65600, '_BHRfS_M')) add('btrfs', 'a btrfs filesystem', 65600, 8);
  for (const page of [4096, 8192, 16384, 65536]) {
    for (const magic of ['SWAPSPACE2', 'SWAP-SPACE']) {
      if (at(buf, page - 10, magic)) add('swap', 'a swap area', page - 10, 10);
    }
  }
  if (at(buf, 32769, 'CD001')) add('iso9660', 'an iso9660 filesystem', 32769, 5);
  const bootSig = buf.length >= 512 && buf.readUInt16LE(510) === 0xaa55;
  let bootUsed = false;
  if (at(buf, 3, 'NTFS    ')) {
    add('ntfs', 'an ntfs filesystem', 3, 8);
    bootUsed = true;
  } else if (bootSig && (at(buf, 54, 'FAT12   ') || at(buf, 54, 'FAT16   ') || at(buf, 54, 'FAT     ') || at(buf, 82, 'FAT32   '))) {
    add('vfat', 'a vfat filesystem', at(buf, 82, 'FAT32   ') ? 82 : 54, 8);
    bootUsed = true;
  }
  let gpt = false;
  for (const off of [512, 4096]) {
    if (at(buf, off, 'EFI PART')) {
      add('gpt', 'a GPT partition table', off, 8);
      gpt = true;
    }
  }
  if (bootSig && !bootUsed && !gpt) {
    let entries = 0;
    for (let i = 0; i < 4; i++) if (buf[446 + i * 16 + 4] !== 0) entries++;
    if (entries) add('mbr', 'an MBR partition table', 510, 2);
  }
  return found;
}

/** Signatures found on a device (a path or an open BlockDevice). Reads at most the first 4 MiB + 4 KiB. */
export function probeSignatures(device: BlockDevice | string): Signature[] {
  const dev = typeof device === 'string' ? FileDevice.open(device, { readOnly: true }) : device;
  try {
    const n = Math.min(dev.size, PROBE_BYTES);
    const buf = Buffer.alloc(n);
    if (n) dev.read(buf, 0);
    return probeBuffer(buf);
  } finally {
    if (typeof device === 'string') dev.close();
  }
}

/** "X holds an ext4 filesystem" / "X holds an ext4 filesystem and a GPT partition table" */
export function describeSignatures(found: Signature[]): string {
  const byDevice = new Map<string, string[]>();
  for (const s of found) {
    const k = s.device ?? 'the device';
    const list = byDevice.get(k) ?? [];
    if (!list.includes(s.description)) list.push(s.description);
    byDevice.set(k, list);
  }
  for (const list of byDevice.values()) {
    // a LUKS2 header and its secondary copy are one volume: "a LUKS2 encrypted volume (both headers)"
    for (const d of [...list]) {
      const i = list.indexOf(`${d} (secondary header)`);
      if (i >= 0) {
        list.splice(i, 1);
        list[list.indexOf(d)] = `${d} (both headers)`;
      }
    }
  }
  return [...byDevice]
    .map(([dev, list]) => `${dev} holds ${list.length > 1 ? `${list.slice(0, -1).join(', ')} and ${list[list.length - 1]}` : list[0]}`)
    .join('; ');
}

/** What is at a path, before a format over it or an add of it: its kind and size, and what it holds. */
export interface ExistingContent {
  path: string;
  kind: 'file' | 'block';
  size: number;
  signatures: Signature[];
  /** the first 4 MiB read are all zeros (no data there, as far as was read) */
  zeroStart: boolean;
  /** "file /x.img (10.0 MiB)" */
  label: string;
  /** "data with no known signature (its first 4.0 MiB are not all zeros)", "an ext4 filesystem" */
  what: string;
  /** label + " holds " + what */
  words: string;
}

const mib = formatBytes;

/**
 * What an existing path holds, in words; throws one clear error for what can never hold a volume (a folder, a
 * character device such as /dev/null, a socket or FIFO). Reads at most the first 4 MiB.
 */
export function existingContent(path: string): ExistingContent {
  let st: import('node:fs').Stats;
  try {
    st = fsStat(path);
  } catch (e) {
    throw new IntegrityStudioError(`${path}: ${(e as Error).message}`, errnoCode(e));
  }
  if (st.isDirectory())
    throw new IntegrityStudioError(`${path} is a folder: give an image file or a block device`, 'EISDIR', { field: 'path', detail: { path } });
  if (st.isCharacterDevice())
    throw new IntegrityStudioError(`${path} is a character device, not an image file or a block device`, 'EINVAL', { field: 'path', detail: { path } });
  if (!st.isFile() && !st.isBlockDevice())
    throw new IntegrityStudioError(
      `${path} is ${st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket' : 'not a regular file'}, not an image file or a block device`,
      'EINVAL',
      { field: 'path', detail: { path } },
    );
  const dev = FileDevice.open(path, { readOnly: true, superblockOnly: true });
  try {
    const n = Math.min(dev.size, PROBE_BYTES);
    const buf = Buffer.alloc(n);
    if (n) dev.read(buf, 0);
    const signatures = probeBuffer(buf).map((s) => ({ ...s, device: path }));
    const zeroStart = buf.every((b) => b === 0);
    const kind = st.isBlockDevice() ? 'block' : 'file';
    const what = signatures.length
      ? [...new Set(signatures.map((s) => s.description))].join(' and ')
      : dev.size === 0
        ? 'nothing (it is empty)'
        : zeroStart
          ? `no known signature, and its first ${mib(n)} are all zeros`
          : `data with no known signature (its first ${mib(n)} are not all zeros)`;
    const label = `${kind === 'block' ? 'block device' : 'file'} ${path} (${mib(dev.size)})`;
    return { path, kind, size: dev.size, signatures, zeroStart, label, what, words: `${label} holds ${what}` };
  } finally {
    dev.close();
  }
}
