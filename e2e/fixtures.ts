// Fixtures: a scratch folder, a real `integrity-studio serve` child process (restartable, same data dir), and the
// dashboard page — in chromium for the "chromium" project, in Electron's window for the "electron" project.
import { test as base, expect, _electron, type Page } from '@playwright/test';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

export const ROOT = path.resolve(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '..');
const CLI = path.join(ROOT, 'bin', 'integrity-studio.js');

export interface Server {
  url: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

export async function startServe(dataDir: string, images: string[] = [], flags: string[] = []): Promise<Server> {
  const proc = spawn(process.execPath, [CLI, 'serve', ...(flags.length ? flags : []), '--data-dir', dataDir, ...images], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '',
    err = '';
  proc.stderr!.on('data', (d) => {
    err += d;
  });
  const url = await new Promise<string>((resolve, reject) => {
    proc.stdout!.on('data', (d) => {
      out += d;
      const m = /^Dashboard: (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)\r?\n/m.exec(out);
      if (m) resolve(m[1]!);
    });
    proc.on('exit', (c) => reject(new Error(`serve exited ${c}: ${err}`)));
  });
  return {
    url,
    proc,
    stop: () =>
      new Promise<void>((r) => {
        if (proc.exitCode !== null) return r();
        proc.once('exit', () => r());
        proc.kill('SIGTERM');
      }),
  };
}

/** the engine's own CLI (or a node one-liner over dist/engine) prepares volumes on disk */
export function engine(script: string): string {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`engine script failed: ${r.stderr}`);
  return r.stdout;
}

function electronPath(): string | null {
  try {
    const p = createRequire(path.join(ROOT, 'package.json'))('electron') as unknown;
    return typeof p === 'string' && fs.existsSync(p) ? p : null;
  } catch {
    return null;
  }
}

interface Fixtures {
  dir: string;
  server: Server & { restart(): Promise<void> };
  dashboard: Page;
  open(): Promise<Page>;
}

export const test = base.extend<Fixtures>({
  // biome-ignore lint/correctness/noEmptyPattern: Playwright reads the fixtures a fixture needs from this pattern
  dir: async ({}, use) => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'is-e2e-'));
    await use(d);
    fs.rmSync(d, { recursive: true, force: true });
  },
  server: async ({ dir }, use, info) => {
    if (info.project.name === 'electron') {
      const ep = electronPath();
      if (!ep) console.log(`[electron] ${info.title}: skipped, the Electron runtime is not installed`);
      info.skip(!ep, 'Electron runtime not installed on this machine (its binary download is impossible here); the same specs ran in chromium against serve');
    }
    let s = await startServe(path.join(dir, 'data'));
    const handle = Object.assign({}, s, {
      async restart() {
        await s.stop();
        s = await startServe(path.join(dir, 'data'));
        Object.assign(handle, s);
      },
    });
    await use(handle);
    await s.stop();
  },
  open: async ({ page, server, dir }, use, info) => {
    if (info.project.name === 'electron') {
      // launched on demand (after the spec prepared its volumes through serve: both hosts share the data dir's
      // volume list, read when a host starts); a second open() relaunches, like the server restart
      const launched: { app: Awaited<ReturnType<typeof _electron.launch>> | null } = { app: null };
      await use(async () => {
        await launched.app?.close();
        launched.app = await _electron.launch({
          args: [path.join(ROOT, 'dist', 'electron', 'main.js')],
          env: { ...process.env, INTEGRITY_STUDIO_DATA_DIR: path.join(dir, 'data') },
        });
        return launched.app.firstWindow();
      });
      await launched.app?.close();
      return;
    }
    await use(async () => {
      await page.goto(server.url);
      await expect(page.getByText('connected', { exact: true })).toBeVisible();
      return page;
    });
  },
  dashboard: async ({ open }, use) => {
    await use(await open());
  },
});

export { expect };

export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(ROOT, 'test-results', 'screenshots', `${name}.png`), fullPage: true });
}

/** the page in light and in dark (prefers-color-scheme), as NAME-light.png and NAME-dark.png */
export async function shots(page: Page, name: string): Promise<void> {
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await shot(page, `${name}-${scheme}`);
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

export const GOLDEN = process.env.GOLDEN_DIR ?? '/work/shared/golden';
export interface GoldenImage {
  name: string;
  keys_hex?: Record<string, string>;
  superblock: { provided_data_sectors: number; recalc_sector: number; log2_interleave_sectors: number };
  geometry: { initial_sectors: number; metadata_run: number };
  [k: string]: unknown;
}

/** a kernel-made golden image, gunzipped into `dir` (a fresh copy per test: the specs scrub, replay and edit it) */
export function golden(name: string, dir: string): { path: string; manifest: GoldenImage } {
  const m = (JSON.parse(fs.readFileSync(path.join(GOLDEN, 'manifest.json'), 'utf8')) as { images: GoldenImage[] }).images.find((i) => i.name === name);
  if (!m) throw new Error(`no golden image ${name}`);
  const out = path.join(dir, `${name}.img`);
  const r = spawnSync('gunzip', ['-c', path.join(GOLDEN, `${name}.img.gz`)], { maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`gunzip ${name}: ${r.stderr}`);
  fs.writeFileSync(out, r.stdout);
  return { path: out, manifest: m };
}

/** one IntegrityApi command over serve's HTTP API (to prepare what a spec is not about) */
export async function command(url: string, cmd: string, ...args: unknown[]): Promise<unknown> {
  const u = new URL(url);
  const r = await fetch(`${u.origin}/api/${cmd}?token=${u.searchParams.get('token')}`, { method: 'POST', body: JSON.stringify(args) });
  const body = (await r.json()) as unknown;
  if (!r.ok) throw new Error(`${cmd}: ${(body as { error?: string }).error ?? r.status}`);
  return body;
}

/** the CLI, as a user in a terminal beside the dashboard */
export function cli(args: string[], opts: { input?: string } = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', input: opts.input });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export { CLI };
