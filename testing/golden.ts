// Test helper: the kernel-made images in ../shared/golden, unpacked once into .tmp/golden (read-only copies).
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SHARED = process.env.INTEGRITY_SHARED ?? path.resolve(PROJECT_ROOT, '../shared');
export const GOLDEN_DIR = path.join(SHARED, 'golden');
const CACHE = path.join(PROJECT_ROOT, '.tmp', 'golden');

export interface GoldenFile {
  file: string;
  /** the folder holding the .gz (set by goldenManifest; the 6.1 set's GOLDEN_DIR when absent) */
  dir?: string;
  /** the set it belongs to (its unpacked copy is cached under that name) */
  set?: string;
  role: string;
  raw_size: number;
  raw_sha256: string;
}
export interface GoldenImage {
  name: string;
  format_command: string;
  open_command: string;
  keys_hex?: Record<string, string>;
  provided_data_sectors: number;
  provided_data_sha256: string;
  superblock: Record<string, unknown> & { salt: string; flags: number };
  geometry: Record<string, number | null>;
  files: GoldenFile[];
  /** what the kernel left after replaying the journal (images with one) */
  after_replay?: { provided_data_sha256: string };
  /** the kernel's read of every block: the sectors it answered EIO (EILSEQ) for */
  read_scan?: { eio_sectors: number[] };
  /** integritysetup dump as 2.6.1 printed it, and as the guest's own integritysetup did (6.12, 7.2) */
  integritysetup_dump?: string;
  integritysetup_dump_guest?: string;
  [k: string]: unknown;
}

/**
 * The golden sets: the 6.1 set in ../shared/golden and ours, made the same way by the newer kernels
 * (tools/golden/kernels/make-sets.sh): 6.12 (bookworm-backports, integritysetup 2.6.1) and 7.2 (sid,
 * integritysetup 2.8.8).
 */
export interface GoldenSet {
  id: '6.1' | '6.12' | '7.2';
  dir: string;
  /** the integritysetup version whose dump/status the manifest recorded */
  integritysetup: '2.6' | '2.8';
}
const OWN_SETS = path.join(PROJECT_ROOT, 'testing', 'data');
export const GOLDEN_SETS: readonly GoldenSet[] = [
  { id: '6.1', dir: GOLDEN_DIR, integritysetup: '2.6' },
  { id: '6.12', dir: path.join(OWN_SETS, 'golden-6.12'), integritysetup: '2.6' },
  { id: '7.2', dir: path.join(OWN_SETS, 'golden-7.2'), integritysetup: '2.8' },
];

export function goldenManifest(set: GoldenSet['id'] = '6.1'): GoldenImage[] {
  const gs = GOLDEN_SETS.find((s) => s.id === set)!;
  const images: GoldenImage[] = JSON.parse(fs.readFileSync(path.join(gs.dir, 'manifest.json'), 'utf8')).images;
  for (const im of images) for (const f of im.files) Object.assign(f, { dir: gs.dir, set: gs.id });
  return images;
}

export function golden(name: string, set: GoldenSet['id'] = '6.1'): GoldenImage {
  const im = goldenManifest(set).find((i) => i.name === name);
  if (!im) throw new Error(`no golden image ${name}`);
  return im;
}

/** Path of the unpacked raw file (verified against the manifest's sha256), read-only. */
export function goldenPath(file: GoldenFile): string {
  const cache = !file.set || file.set === '6.1' ? CACHE : path.join(CACHE, file.set);
  fs.mkdirSync(cache, { recursive: true });
  const out = path.join(cache, file.file.replace(/\.gz$/, ''));
  if (!fs.existsSync(out)) {
    const raw = zlib.gunzipSync(fs.readFileSync(path.join(file.dir ?? GOLDEN_DIR, file.file)));
    const sha = crypto.createHash('sha256').update(raw).digest('hex');
    if (sha !== file.raw_sha256) throw new Error(`${file.file}: sha256 ${sha} differs from the manifest`);
    const tmp = `${out}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, raw, { mode: 0o444 });
    fs.renameSync(tmp, out);
  }
  return out;
}

/** A writable private copy of a golden file in a fresh temp dir. */
export function goldenCopy(file: GoldenFile, dir: string): string {
  const src = goldenPath(file);
  const dst = path.join(dir, path.basename(src));
  fs.copyFileSync(src, dst);
  fs.chmodSync(dst, 0o644);
  return dst;
}

export function sha256File(p: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex');
}

export function tmpDir(prefix = 'is-test-'): string {
  fs.mkdirSync(path.join(PROJECT_ROOT, '.tmp'), { recursive: true });
  return fs.mkdtempSync(path.join(PROJECT_ROOT, '.tmp', prefix));
}

/** pattern-v1: sector s = 16-byte record `TAG` (3 chars), ':', s as 11 hex digits, '\n', ×32 */
export function patternSector(tag: string, s: number): Buffer {
  const rec = Buffer.from(`${tag.padEnd(3, ' ')}:${s.toString(16).padStart(11, '0')}\n`, 'latin1');
  const b = Buffer.alloc(512);
  for (let i = 0; i < 32; i++) rec.copy(b, i * 16);
  return b;
}
