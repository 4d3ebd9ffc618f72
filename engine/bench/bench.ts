// `npm run bench`: recalc and scrub throughput against their ceilings, measured in the same run on the same file:
// raw sequential read with the jobs' I/O sizes, and the bare tag hash over the same bytes in memory on one core
// and on all cores. Also journaled vs direct random 4 KiB writes, peak RSS, and RSS while scrubbing a 1 TiB sparse
// image. Figures only: nothing here is a pass/fail test. BENCH_MIB sets the image size (default 1024).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { formatVolume } from '../commands/format.js';
import { openWritable } from '../integrity/writable.js';
import { FileDevice } from '../io/device.js';
import { alignedBuffer } from '../io/aligned.js';
import { bareHash, KEY } from './hash-work.js';
import { startJob } from '../jobs/index.js';
import { RECALC_SECTORS } from '../integrity/bitmap-mode.js';
import { CHUNK_SECTORS } from '../integrity/target.js';
import { SECTOR_SIZE } from '../layout/superblock.js';
import type { JobSpec } from '../jobs/types.js';

const MIB = 1 << 20;
const SIZE_MIB = Number(process.env.BENCH_MIB ?? 1024);
const dir = fs.mkdtempSync(path.join(process.env.BENCH_DIR ?? os.tmpdir(), 'is-bench-'));
const img = path.join(dir, 'bench.img');
let peakRss = 0;
const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);

const mbps = (bytes: number, ms: number) => bytes / MIB / (ms / 1000);
const fmt = (v: number) => v.toFixed(0).padStart(6);

function fillImage(): void {
  const fd = fs.openSync(img, 'w');
  const chunk = crypto.randomBytes(16 * MIB);
  for (let i = 0; i < SIZE_MIB / 16; i++) fs.writeSync(fd, chunk, 0, chunk.length, i * chunk.length);
  fs.fsyncSync(fd);
  fs.closeSync(fd);
}

/** Sequential read of the whole file with `ioBytes` reads into a page-aligned buffer (the jobs' I/O path). */
function rawRead(ioBytes: number): number {
  const dev = FileDevice.open(img, { readOnly: true });
  const buf = alignedBuffer(ioBytes);
  const size = dev.size;
  const t0 = performance.now();
  for (let off = 0; off + ioBytes <= size; off += ioBytes) dev.read(buf, off);
  const ms = performance.now() - t0;
  dev.close();
  return mbps(Math.floor(size / ioBytes) * ioBytes, ms);
}

/** The same on every core at once (one worker thread per core), summed. */
async function bareHashAllCores(alg: string, blockSize: number, bytes: number): Promise<number> {
  const n = os.availableParallelism();
  const src = `
    const { parentPort, workerData } = require('node:worker_threads');
    import(workerData.url).then((m) => parentPort.postMessage(m.bareHash(workerData.alg, workerData.bs, workerData.bytes)));`;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: n }, () => new Promise<number>((resolve, reject) => {
      const w = new Worker(src, { eval: true, workerData: { url: new URL('./hash-work.js', import.meta.url).href, alg, bs: blockSize, bytes: bytes / n } });
      w.once('message', (v: number) => {
        void w.terminate();
        resolve(v);
      });
      w.once('error', reject);
    })),
  );
  return mbps(bytes, performance.now() - t0);
}


async function job(spec: JobSpec): Promise<number> {
  const t0 = performance.now();
  const p = await startJob(spec, () => {}).finished;
  if (p.state !== 'done') throw new Error(`${spec.kind} ended ${p.state}: ${p.error ?? ''}`);
  return mbps((p.total_sectors - p.start_sector) * SECTOR_SIZE, performance.now() - t0);
}

function randomWrites(mode: 'journal' | 'direct', seconds: number): number {
  const w = openWritable(img, { mode });
  const blocks = Math.floor((w.geometry.provided_data_sectors * SECTOR_SIZE) / 4096);
  const buf = crypto.randomBytes(4096);
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    w.write(Math.floor(Math.random() * blocks) * 4096, buf);
    if (++n % 64 === 0) w.flush();
  }
  w.flush();
  const ms = performance.now() - t0;
  w.close();
  return n / (ms / 1000);
}

async function main(): Promise<void> {
  console.log(`Integrity Studio benchmark — ${SIZE_MIB} MiB image in ${dir}, ${os.availableParallelism()} cores, Node ${process.version}`);
  fillImage();
  rawRead(CHUNK_SECTORS * SECTOR_SIZE); // warm-up: the file as the page cache holds it after writing
  const rawRecalc = rawRead(RECALC_SECTORS * SECTOR_SIZE);
  const rawScrub = rawRead(CHUNK_SECTORS * SECTOR_SIZE);
  console.log(`raw sequential read (page cache warm): ${rawRecalc.toFixed(0)} MiB/s with ${(RECALC_SECTORS * SECTOR_SIZE) / MIB} MiB reads (recalc), ${rawScrub.toFixed(0)} MiB/s with ${(CHUNK_SECTORS * SECTOR_SIZE) / MIB} MiB reads (scrub)`);
  console.log('');
  console.log('algorithm    sector | hash 1 core  all cores |  recalc ratio |   scrub ratio   (MiB/s; ratio = job / min(raw read, hash all cores), target ≥ 0.80)');
  const rows: string[] = [];
  for (const alg of ['crc32c', 'sha256', 'hmac-sha256']) {
    for (const sectorSize of [512, 4096]) {
      const extra = alg === 'hmac-sha256' ? { integrityKey: KEY } : {};
      formatVolume(img, { noWipe: true, integrityRecalculate: true, force: true, integrity: alg, sectorSize, ...(alg === 'hmac-sha256' ? { journalIntegrity: 'hmac-sha256', journalIntegrityKey: KEY } : {}), ...extra });
      const spec = { device: img, integrity: alg, ...extra, ...(alg === 'hmac-sha256' ? { journalIntegrity: 'hmac-sha256', journalIntegrityKey: KEY } : {}) };
      const h1 = bareHash(alg, sectorSize, 512 * MIB);
      const hAll = await bareHashAllCores(alg, sectorSize, 1024 * MIB);
      const recalc = await job({ kind: 'recalc', ...spec });
      const scrub = await job({ kind: 'scrub', reset: true, ...spec });
      const rr = recalc / Math.min(rawRecalc, hAll);
      const sr = scrub / Math.min(rawScrub, hAll);
      const row = `${alg.padEnd(12)} ${String(sectorSize).padStart(6)} | ${fmt(h1)}     ${fmt(hAll)} | ${fmt(recalc)}  ${rr.toFixed(2)} | ${fmt(scrub)}   ${sr.toFixed(2)}`;
      console.log(row);
      rows.push(row);
    }
  }
  console.log('');
  formatVolume(img, { force: true, noWipe: true });
  const jw = randomWrites('journal', 3);
  const dw = randomWrites('direct', 3);
  console.log(`random 4 KiB writes (flush every 64): journal ${jw.toFixed(0)}/s, direct ${dw.toFixed(0)}/s (${(dw / jw).toFixed(2)}× journal)`);
  fs.rmSync(img);
  // bounded memory whatever the size: scrub a 1 TiB sparse image for a few seconds
  const sparse = path.join(dir, 'sparse.img');
  fs.writeFileSync(sparse, Buffer.alloc(0));
  fs.truncateSync(sparse, 1024 * 1024 * MIB);
  formatVolume(sparse, { noWipe: true, force: true });
  const before = process.memoryUsage().rss;
  let workerPeak = 0;
  const h = startJob({ kind: 'scrub', device: sparse }, () => (workerPeak = Math.max(workerPeak, process.memoryUsage().rss)));
  await new Promise((r) => setTimeout(r, 4000));
  const paused = await h.pause();
  console.log(`1 TiB sparse image: scrubbed ${((paused.position_sector * SECTOR_SIZE) / MIB).toFixed(0)} MiB in 4 s; process RSS ${(before / MIB).toFixed(0)} MiB before, ${(workerPeak / MIB).toFixed(0)} MiB peak during (job memory is one chunk buffer)`);
  clearInterval(rssTimer);
  console.log(`peak RSS of the whole run: ${(peakRss / MIB).toFixed(0)} MiB`);
  fs.rmSync(dir, { recursive: true, force: true });
}

if (process.argv[1] && process.argv[1].endsWith('bench.js')) {
  main().catch((e) => {
    console.error(`bench failed: ${(e as Error).message}`);
    fs.rmSync(dir, { recursive: true, force: true });
    process.exit(1);
  });
}
