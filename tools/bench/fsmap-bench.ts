// What bad blocks hold, at scale: a sparse 10 GiB ext4 image made by mkfs.ext4 -d from a generated tree of
// 100,000 small files, 1,000 bad 4 KiB blocks (half among the used blocks, half anywhere), mapped from the plain
// image and again through a dm-integrity volume of our own format holding the same bytes. Prints time, peak RSS,
// blocks read and inodes scanned. Figures only (no assertion). Needs mkfs.ext4.
// --huge: also a sparse 15 TiB ext4 (mkfs with lazy init, ~220 MiB on disk; needs a host file system taking 15 TiB
// sparse files) with 1,200 bad blocks, to show the memory does not grow with the file system.
// node dist/tools/bench/fsmap-bench.js [--files N] [--size GiB] [--bad N] [--no-volume] [--huge] [--keep]   (BENCH_DIR: where)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { mapBadSectors, openImageSource, volumeSource, type FsMapResult, type SectorRange } from '../../engine/fsmap/index.js';
import { formatVolume } from '../../engine/commands/format.js';
import { openWritable } from '../../engine/integrity/writable.js';
import { openVolume } from '../../engine/volume.js';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const FILES = arg('files', 100_000);
const GIB = arg('size', 10);
const BAD = arg('bad', 1000);
const PATH = `${process.env.PATH ?? ''}:/usr/sbin:/sbin`;

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, PATH }, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function rssMiB(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

/** deterministic pseudo-random integers */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

function summary(r: FsMapResult): string {
  const kinds: Record<string, number> = {};
  for (const i of r.items) kinds[i.kind] = (kinds[i.kind] ?? 0) + 1;
  return `items ${JSON.stringify(kinds)}, files damaged ${r.files_damaged}, free sectors ${r.free_sectors}, unmapped sectors ${r.unmapped_sectors}`;
}

function main(): void {
  const dir = fs.mkdtempSync(path.join(process.env.BENCH_DIR ?? os.tmpdir(), 'is-fsmap-bench-'));
  const keep = process.argv.includes('--keep');
  try {
    // the tree: FILES files of 1..8 KiB in directories of 1,000
    let t = Date.now();
    const tree = path.join(dir, 'tree');
    const rand = rng(7);
    const buf = Buffer.alloc(8192);
    for (let i = 0; i < FILES; i++) {
      const d = path.join(tree, `d${Math.floor(i / 1000)}`);
      if (i % 1000 === 0) fs.mkdirSync(d, { recursive: true });
      buf.writeUInt32LE(i, 0);
      fs.writeFileSync(path.join(d, `file-${i}.dat`), buf.subarray(0, 1024 + (rand() % 7168)));
    }
    console.log(`tree: ${FILES} files in ${Math.ceil(FILES / 1000)} directories (${((Date.now() - t) / 1000).toFixed(1)} s)`);
    t = Date.now();
    const img = path.join(dir, 'ext4.img');
    sh('mkfs.ext4', ['-q', '-F', '-b', '4096', '-d', tree, img, `${GIB}G`]);
    fs.rmSync(tree, { recursive: true, force: true });
    const df = sh('dumpe2fs', ['-h', img]);
    const blocks = Number(/Block count:\s+(\d+)/.exec(df)![1]);
    const free = Number(/Free blocks:\s+(\d+)/.exec(df)![1]);
    const inodes = Number(/Inode count:\s+(\d+)/.exec(df)![1]);
    const used = blocks - free;
    console.log(
      `mkfs.ext4 -d: ${GIB} GiB, ${blocks} blocks (${used} used), ${inodes} inodes (${((Date.now() - t) / 1000).toFixed(1)} s; ${Math.round(fs.statSync(img).blocks / 2048)} MiB on disk)`,
    );
    // bad blocks: half spread over the used area (mkfs -d packs files at the start of the groups it fills), half anywhere
    const r2 = rng(11);
    const bad = new Set<number>();
    while (bad.size < BAD / 2) bad.add(r2() % Math.min(blocks, Math.ceil(used * 1.1)));
    while (bad.size < BAD) bad.add(r2() % blocks);
    const ranges: SectorRange[] = [...bad].map((b) => [b * 8, b * 8 + 8]);
    const run = (label: string, src: Parameters<typeof mapBadSectors>[0]) => {
      const t0 = process.hrtime.bigint();
      const r = mapBadSectors(src, ranges);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      console.log(
        `${label}: ${BAD} bad blocks mapped in ${(ms / 1000).toFixed(2)} s; peak RSS ${rssMiB()} MiB; blocks read ${r.stats.blocks_read} (${Math.round((r.stats.blocks_read * 4) / 1024)} MiB), inodes scanned ${r.stats.inodes_scanned}, directories read for names ${r.stats.directories_scanned}`,
      );
      console.log(`  ${summary(r)}`);
      return r;
    };
    const src = openImageSource(img);
    const plain = run('plain image', src);
    src.close();
    // before the volume: its write stage raises the process's peak RSS, which the figures here report
    if (process.argv.includes('--huge')) huge(dir);
    if (!process.argv.includes('--no-volume')) {
      // the same bytes in a dm-integrity volume of our format (crc32c, 4 KiB journal mode), written through the
      // engine's write path; chunks of zeros are skipped (the volume is not wiped: those blocks are never read)
      t = Date.now();
      const vol = path.join(dir, 'volume.img');
      formatVolume(vol, { size: Math.ceil((blocks * 4096 * 1.01) / (1 << 20)) * (1 << 20) + (64 << 20), sectorSize: 4096, noWipe: true });
      const w = openWritable(vol, {});
      const fd = fs.openSync(img, 'r');
      const chunk = Buffer.alloc(1 << 20);
      const zeros = Buffer.alloc(1 << 20);
      let written = 0;
      try {
        for (let off = 0; off < blocks * 4096; off += chunk.length) {
          const n = fs.readSync(fd, chunk, 0, chunk.length, off);
          if (chunk.compare(zeros, 0, n, 0, n) === 0) continue;
          w.write(off, chunk.subarray(0, n));
          written += n;
        }
        w.flush();
      } finally {
        fs.closeSync(fd);
        w.close();
      }
      console.log(`dm-integrity volume: formatted and ${Math.round(written / (1 << 20))} MiB written (${((Date.now() - t) / 1000).toFixed(1)} s)`);
      const v = openVolume(vol, { readOnly: true });
      try {
        const through = run('through the dm-integrity volume (peak RSS includes the write stage)', volumeSource(v));
        const same = JSON.stringify(through.items) === JSON.stringify(plain.items);
        console.log(`  same answers as the plain image: ${same ? 'yes' : 'NO'}`);
      } finally {
        v.close();
      }
    }
  } finally {
    if (keep) console.log(`kept ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
}

function huge(dir: string): void {
  const tree = path.join(dir, 'huge-tree');
  fs.mkdirSync(tree);
  for (let i = 0; i < 500; i++) fs.writeFileSync(path.join(tree, `f${i}`), `${i}\n`);
  const img = path.join(dir, 'huge.img');
  fs.writeFileSync(img, '');
  fs.truncateSync(img, 15 * 2 ** 40);
  let t = Date.now();
  sh('mkfs.ext4', ['-q', '-F', '-E', 'lazy_itable_init=1,lazy_journal_init=1,nodiscard', '-d', tree, img]);
  const blocks = Number(/Block count:\s+(\d+)/.exec(sh('dumpe2fs', ['-h', img]))![1]);
  console.log(`mkfs.ext4: 15 TiB, ${blocks} blocks (${((Date.now() - t) / 1000).toFixed(1)} s; ${Math.round(fs.statSync(img).blocks / 2048)} MiB on disk)`);
  const r = rng(12345);
  const ranges: SectorRange[] = [];
  for (let i = 0; i < 1000; i++) {
    const b = (r() * 4096 + (r() % 4096)) % blocks;
    ranges.push([b * 8, b * 8 + 8]);
  }
  for (let i = 0; i < 200; i++) {
    const b = r() % 40000;
    ranges.push([b * 8, b * 8 + 8]);
  }
  const src = openImageSource(img);
  t = Date.now();
  const res = mapBadSectors(src, ranges);
  src.close();
  console.log(
    `15 TiB ext4: ${ranges.length} bad blocks mapped in ${((Date.now() - t) / 1000).toFixed(2)} s; peak RSS ${rssMiB()} MiB; blocks read ${res.stats.blocks_read}, inodes scanned ${res.stats.inodes_scanned}`,
  );
  console.log(`  ${summary(res)}`);
}

main();
