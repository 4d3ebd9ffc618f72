// `npm run bench:damage`: a failing disk in the dashboard. For 10^3, 10^5 and 10^6 scattered bad blocks (every
// other block of the start of a volume, their tags flipped): the CLI scrub's time and peak RSS, the state file and
// damage log sizes, the host's snapshot and progress-event sizes and its RSS, and in chromium the time from the click
// on the volume to its rendered page (its first page of ranges) and the longest main-thread task while the page
// opens, pages through the list and the host answers. Figures only, no pass/fail: the bounds are asserted by tests.
// BENCH_COUNTS overrides the counts (comma-separated); CHROMIUM_PATH the browser.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { formatVolume } from '../../engine/commands/format.js';
import { openVolume } from '../../engine/volume.js';
import { tagOffset } from '../../engine/layout/geometry.js';
import { jobStatePath, damagePath } from '../../engine/jobs/state.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BIN = path.join(ROOT, 'bin', 'integrity-studio.js');
const COUNTS = (process.env.BENCH_COUNTS ?? '1000,100000,1000000').split(',').map(Number);
const dir = fs.mkdtempSync(path.join(process.env.BENCH_DIR ?? os.tmpdir(), 'is-damage-bench-'));
const log = (s = '') => process.stdout.write(s + '\n');

/** a volume of 2n + 1 MiB of 512-byte blocks with every other block of its first 2n bad (a flipped tag byte) */
function failingVolume(n: number): string {
  const img = path.join(dir, `bad-${n}.img`);
  formatVolume(img, { size: Math.ceil((2 * n * 512 + (1 << 20)) / 4096) * 4096 + (64 << 20), force: true });
  const vol = openVolume(img, { readOnly: true, superblockOnly: true });
  const g = vol.geometry;
  vol.close();
  const fd = fs.openSync(img, 'r+');
  try {
    // the tags of a run of blocks are contiguous: read each interleave area's run once, flip, write it back
    const il = 2 ** g.log2_interleave_sectors;
    for (let area = 0; area * il < 2 * n; area++) {
      const first = area * il, last = Math.min(2 * n, (area + 1) * il);
      const at = tagOffset(g, first);
      const buf = Buffer.alloc(((last - first) / g.sectors_per_block) * g.tag_size);
      fs.readSync(fd, buf, 0, buf.length, at);
      for (let s = first; s < last; s += 2) buf[((s - first) / g.sectors_per_block) * g.tag_size]! ^= 0xff;
      fs.writeSync(fd, buf, 0, buf.length, at);
    }
  } finally {
    fs.closeSync(fd);
  }
  return img;
}

/** runs a command, sampling its RSS (VmHWM at the end): wall ms and peak MiB */
async function measured(args: string[]): Promise<{ ms: number; rssMiB: number; code: number | null; out: string }> {
  const t0 = Date.now();
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.resume();
  let hwm = 0;
  const t = setInterval(() => {
    try { hwm = Math.max(hwm, Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0)); } catch { /* ended */ }
  }, 20);
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  clearInterval(t);
  return { ms: Date.now() - t0, rssMiB: hwm / 1024, code, out };
}

interface Row { n: number; scrubS: number; scrubRss: number; stateBytes: number; logBytes: number; snapshotBytes: number; eventBytes: number; hostRss: number; clickMs: number | null; longestTask: number | null; pageMs: number | null }

async function browserFigures(url: string, name: string): Promise<{ clickMs: number; longestTask: number; pageMs: number } | null> {
  let chromium: typeof import('playwright-core').chromium;
  try { ({ chromium } = await import('playwright-core')); } catch { return null; }
  const exe = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!fs.existsSync(exe)) return null;
  const browser = await chromium.launch({ executablePath: exe, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  try {
    const page = await browser.newPage();
    // the longest main-thread task (the Long Tasks API), kept by the page
    await page.addInitScript({ content: 'window.__longest = 0; new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__longest = Math.max(window.__longest, e.duration); }).observe({ type: "longtask", buffered: true });' });
    await page.goto(url);
    await page.getByText('connected', { exact: true }).waitFor();
    await page.evaluate('window.__longest = 0');
    const t0 = Date.now();
    await page.getByRole('link', { name, exact: true }).click();
    await page.getByTestId('range').first().waitFor();
    const clickMs = Date.now() - t0;
    // paging through the list: the next page's first range replaces the first one
    const first = await page.getByTestId('range').first().textContent();
    const t1 = Date.now();
    await page.getByRole('button', { name: 'Next page' }).click();
    await page.waitForFunction(`document.querySelector('[data-testid="range"]')?.textContent !== ${JSON.stringify(first)}`);
    const pageMs = Date.now() - t1;
    await page.waitForTimeout(500);
    const longestTask = Number(await page.evaluate('window.__longest'));
    return { clickMs, longestTask, pageMs };
  } finally {
    await browser.close();
  }
}

async function main(): Promise<void> {
  log(`damage bench: ${COUNTS.join(', ')} scattered bad blocks (every other 512-byte block); ${os.cpus().length} cores`);
  const rows: Row[] = [];
  for (const n of COUNTS) {
    const img = failingVolume(n);
    const env = { ...process.env, INTEGRITY_STUDIO_STATE_DIR: path.join(dir, 'state') };
    process.env.INTEGRITY_STUDIO_STATE_DIR = env.INTEGRITY_STUDIO_STATE_DIR;
    const scrub = await measured([BIN, 'scrub', img, '--reset']);
    const st = jobStatePath(img, 'scrub');
    const stateBytes = fs.statSync(st).size, logBytes = fs.statSync(damagePath(st)).size;
    // the host, as serve runs it: a snapshot, and a progress event of a scrub finding bad blocks
    const data = path.join(dir, `serve-${n}`);
    const serve = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--data-dir', data, img], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let sout = '';
    serve.stdout!.on('data', (d) => { sout += d; });
    serve.stderr!.resume();
    const url = await new Promise<string>((resolve, reject) => {
      const t = setInterval(() => { const m = /Dashboard: (\S+)/.exec(sout); if (m) { clearInterval(t); resolve(m[1]!); } }, 50);
      serve.on('exit', (c) => { clearInterval(t); reject(new Error(`serve exited ${c}`)); });
    });
    const u = new URL(url);
    const api = async (cmd: string, args: unknown[]) => {
      const r = await fetch(`${u.origin}/api/${cmd}?token=${u.searchParams.get('token')}`, { method: 'POST', body: JSON.stringify(args) });
      return r.text();
    };
    const list = await api('listVolumes', []);
    const id = (JSON.parse(list) as Array<{ id: string }>)[0]!.id;
    // a progress event of a scrub running here, as the WebSocket carries it
    const { WebSocket } = await import('ws');
    const ws = new WebSocket(`${u.origin.replace('http', 'ws')}/ws?token=${u.searchParams.get('token')}`);
    let eventBytes = 0;
    ws.on('message', (m: Buffer) => { const s = m.toString(); if (/"event":\{"type":"(progress|errors)"/.test(s)) eventBytes = Math.max(eventBytes, s.length); });
    await new Promise((r) => ws.on('open', r));
    await api('startScrub', [id]);
    for (let i = 0; i < 600; i++) {
      const v = JSON.parse(await api('listVolumes', [])) as Array<{ verification: { scrub: string } }>;
      if (v[0]!.verification.scrub === 'finished') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const snapshotBytes = (await api('listVolumes', [])).length;
    ws.close();
    const b = await browserFigures(url, path.basename(img));
    const hostRss = Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${serve.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
    serve.kill('SIGTERM');
    await new Promise((r) => serve.on('exit', r));
    rows.push({ n, scrubS: scrub.ms / 1000, scrubRss: scrub.rssMiB, stateBytes, logBytes, snapshotBytes, eventBytes, hostRss, clickMs: b?.clickMs ?? null, longestTask: b?.longestTask ?? null, pageMs: b?.pageMs ?? null });
    fs.rmSync(img, { force: true });
  }
  log('bad blocks | CLI scrub s  RSS MiB | state file  damage log | snapshot  event (bytes) | host RSS MiB | click→page ms  next page ms  longest task ms');
  for (const r of rows) {
    log(`${String(r.n).padStart(10)} | ${r.scrubS.toFixed(2).padStart(11)} ${r.scrubRss.toFixed(0).padStart(8)} | ${String(r.stateBytes).padStart(10)} ${String(r.logBytes).padStart(11)} | ${String(r.snapshotBytes).padStart(8)} ${String(r.eventBytes).padStart(6)} | ${r.hostRss.toFixed(0).padStart(12)} | ${String(r.clickMs ?? '—').padStart(13)} ${String(r.pageMs ?? '—').padStart(13)} ${r.longestTask === null ? '—' : r.longestTask.toFixed(0).padStart(16)}`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
  void spawnSync;
}

void main();
