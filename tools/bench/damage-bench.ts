// `npm run bench:damage`: a failing disk in the dashboard. For 10^3, 10^5 and 10^6 scattered bad blocks (every
// other block of the start of a volume, their tags flipped): the CLI scrub's time and peak RSS, the state file and
// damage log sizes, the host's snapshot and progress-event sizes and its RSS, and in chromium the time from the click
// on the volume to its rendered page (its first page of ranges) and the longest main-thread task while the page
// opens, pages through the list and the host answers. Figures only, no pass/fail: the bounds are asserted by tests.
// BENCH_COUNTS overrides the counts (comma-separated); CHROMIUM_PATH the browser.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { formatVolume } from '../../engine/commands/format.js';
import { makeFailingVolume } from '../../testing/failing-volume.js';
import { jobStatePath, damagePath } from '../../engine/jobs/state.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BIN = path.join(ROOT, 'bin', 'integrity-studio.js');
const COUNTS = (process.env.BENCH_COUNTS ?? '1000,100000,1000000').split(',').map(Number);
const dir = fs.mkdtempSync(path.join(process.env.BENCH_DIR ?? os.tmpdir(), 'is-damage-bench-'));
const log = (s = '') => process.stdout.write(s + '\n');

function failingVolume(n: number): string {
  const img = path.join(dir, `bad-${n}.img`);
  makeFailingVolume(img, n);
  return img;
}

/** runs a command, sampling its RSS (VmHWM at the end): wall ms and peak MiB */
async function measured(args: string[]): Promise<{ ms: number; rssMiB: number; code: number | null; out: string }> {
  const t0 = Date.now();
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.resume();
  let hwm = 0;
  const t = setInterval(() => {
    try {
      hwm = Math.max(hwm, Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0));
    } catch {
      /* ended */
    }
  }, 20);
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  clearInterval(t);
  return { ms: Date.now() - t0, rssMiB: hwm / 1024, code, out };
}

interface Row {
  n: number;
  cleanS: number;
  scrubS: number;
  scrubRss: number;
  stateBytes: number;
  logBytes: number;
  snapshotBytes: number;
  eventBytes: number;
  hostRss: number;
  exportMs: number;
  exportBytes: number;
  clickMs: number | null;
  pageMs: number | null;
  openLongest: number | null;
  scrubLongest: number | null;
}

type Api = (cmd: string, args: unknown[]) => Promise<string>;

async function scrubInHost(api: Api, id: string): Promise<void> {
  await api('startScrub', [id]);
  for (;;) {
    const v = JSON.parse(await api('listVolumes', [])) as Array<{ id: string; verification: { scrub: string } }>;
    if (v.find((x) => x.id === id)!.verification.scrub === 'finished') return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** in chromium: click → the volume page with its first ranges, Next page, and the longest main-thread task while the
 * page opens and pages, then while the host scrubs the volume again with the page open (errors found at full rate) */
async function browserFigures(
  url: string,
  name: string,
  scrub: () => Promise<void>,
): Promise<{ clickMs: number; pageMs: number; openLongest: number; scrubLongest: number } | null> {
  let chromium: typeof import('playwright-core').chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch {
    return null;
  }
  const exe = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!fs.existsSync(exe)) return null;
  const browser = await chromium.launch({ executablePath: exe, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  try {
    const page = await browser.newPage();
    // the longest main-thread task (the Long Tasks API), kept by the page
    await page.addInitScript({
      content:
        'window.__longest = 0; new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__longest = Math.max(window.__longest, e.duration); }).observe({ type: "longtask", buffered: true });',
    });
    await page.goto(url);
    await page.getByText('connected', { exact: true }).waitFor();
    await page.waitForTimeout(300);
    await page.evaluate('window.__longest = 0');
    // the click and the wait run inside the page (plain DOM, one animation frame at a time), so the figures are the
    // dashboard's own and not the test driver's locator work on the page's main thread
    const clickMs = Number(
      await page.evaluate(`(async () => {
      const a = [...document.querySelectorAll('a')].find((x) => x.textContent === ${JSON.stringify(name)});
      const t0 = performance.now();
      a.click();
      await new Promise((r) => { const f = () => (document.querySelector('[data-testid="range"]') ? r() : requestAnimationFrame(f)); f(); });
      await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
      return performance.now() - t0;
    })()`),
    );
    await page.waitForTimeout(500);
    const pageMs = Number(
      await page.evaluate(`(async () => {
      const first = () => document.querySelector('[data-testid="range"]')?.textContent;
      const was = first();
      const b = [...document.querySelectorAll('button')].find((x) => x.textContent === 'Next page');
      const t0 = performance.now();
      b.click();
      await new Promise((r) => { const f = () => (first() !== was ? r() : requestAnimationFrame(f)); f(); });
      await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
      return performance.now() - t0;
    })()`),
    );
    await page.waitForTimeout(500);
    const openLongest = Number(await page.evaluate('window.__longest'));
    await page.evaluate('window.__longest = 0');
    await scrub();
    await page.waitForTimeout(500);
    const scrubLongest = Number(await page.evaluate('window.__longest'));
    return { clickMs, pageMs, openLongest, scrubLongest };
  } finally {
    await browser.close();
  }
}

async function main(): Promise<void> {
  log(`damage bench: ${COUNTS.join(', ')} scattered bad blocks (every other 512-byte block); ${os.cpus().length} cores; in ${dir}`);
  const rows: Row[] = [];
  const env = { ...process.env, INTEGRITY_STUDIO_STATE_DIR: path.join(dir, 'state') };
  process.env.INTEGRITY_STUDIO_STATE_DIR = env.INTEGRITY_STUDIO_STATE_DIR;
  for (const n of COUNTS) {
    const img = failingVolume(n);
    // the same volume clean first (tags intact), so the scrub's speed with every other block failing has its baseline
    const clean = path.join(dir, `clean-${n}.img`);
    formatVolume(clean, { size: fs.statSync(img).size - (fs.statSync(img).size % 4096), force: true });
    const cleanRun = await measured([BIN, 'scrub', clean, '--reset']);
    fs.rmSync(clean, { force: true });
    const scrub = await measured([BIN, 'scrub', img, '--reset']);
    const st = jobStatePath(img, 'scrub');
    const stateBytes = fs.statSync(st).size,
      logBytes = fs.statSync(damagePath(st)).size;
    // the host, as serve runs it: a snapshot, and the progress and errors events of a scrub finding bad blocks
    const data = path.join(dir, `serve-${n}`);
    const serve = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--data-dir', data, img], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let sout = '';
    serve.stdout!.on('data', (d) => {
      sout += d;
    });
    serve.stderr!.resume();
    const url = await new Promise<string>((resolve, reject) => {
      const t = setInterval(() => {
        const m = /Dashboard: (\S+)\r?\n/.exec(sout);
        if (m) {
          clearInterval(t);
          resolve(m[1]!);
        }
      }, 50);
      serve.on('exit', (c) => {
        clearInterval(t);
        reject(new Error(`serve exited ${c}`));
      });
    });
    const u = new URL(url);
    const token = u.searchParams.get('token');
    const api: Api = async (cmd, args) => (await fetch(`${u.origin}/api/${cmd}?token=${token}`, { method: 'POST', body: JSON.stringify(args) })).text();
    const id = (JSON.parse(await api('listVolumes', [])) as Array<{ id: string }>)[0]!.id;
    const { WebSocket } = await import('ws');
    const ws = new WebSocket(`${u.origin.replace('http', 'ws')}/ws?token=${token}`);
    let eventBytes = 0;
    ws.on('message', (m: Buffer) => {
      eventBytes = Math.max(eventBytes, m.length);
    });
    await new Promise((r) => ws.on('open', r));
    const b = await browserFigures(url, path.basename(img), () => scrubInHost(api, id));
    if (!b) await scrubInHost(api, id);
    const snapshotBytes = (await api('listVolumes', [])).length;
    ws.close();
    // the export, streamed by the host to a file
    const e0 = Date.now();
    const res = await fetch(`${u.origin}/export/${id}.csv?token=${token}`);
    const out = path.join(dir, `export-${n}.csv`);
    const { Readable } = await import('node:stream');
    const { pipeline } = await import('node:stream/promises');
    await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), fs.createWriteStream(out));
    const exportMs = Date.now() - e0,
      exportBytes = fs.statSync(out).size;
    fs.rmSync(out);
    const hostRss = Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${serve.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
    serve.kill('SIGTERM');
    await new Promise((r) => serve.on('exit', r));
    rows.push({
      n,
      cleanS: cleanRun.ms / 1000,
      scrubS: scrub.ms / 1000,
      scrubRss: scrub.rssMiB,
      stateBytes,
      logBytes,
      snapshotBytes,
      eventBytes,
      hostRss,
      exportMs,
      exportBytes,
      clickMs: b?.clickMs ?? null,
      pageMs: b?.pageMs ?? null,
      openLongest: b?.openLongest ?? null,
      scrubLongest: b?.scrubLongest ?? null,
    });
    fs.rmSync(img, { force: true });
  }
  const c = (x: number | null, w: number, d = 0) => (x === null ? '—' : x.toFixed(d)).padStart(w);
  log('');
  log(
    'bad blocks | CLI scrub s (clean)  RSS MiB | state B  damage log B | snapshot B  largest event B | host RSS MiB | CSV export ms  MB | click→page ms  next page ms  longest task ms (open, during scrub)',
  );
  for (const r of rows) {
    log(
      `${String(r.n).padStart(10)} | ${c(r.scrubS, 11, 2)} (${r.cleanS.toFixed(2)}) ${c(r.scrubRss, 8)} | ${String(r.stateBytes).padStart(7)} ${String(r.logBytes).padStart(12)} | ${String(r.snapshotBytes).padStart(10)} ${String(r.eventBytes).padStart(16)} | ${c(r.hostRss, 12)} | ${c(r.exportMs, 13)} ${(r.exportBytes / 1e6).toFixed(1).padStart(4)} | ${c(r.clickMs, 13)} ${c(r.pageMs, 13)} ${c(r.openLongest, 16)} ${c(r.scrubLongest, 6)}`,
    );
  }
  if (rows.some((r) => r.clickMs === null))
    log('(— : no chromium at CHROMIUM_PATH or /usr/bin/chromium, or playwright-core missing: the browser figures were not measured)');
  fs.rmSync(dir, { recursive: true, force: true });
}

void main();
