// The README's first command, as a new user runs it: `npm ci && npm start` in a fresh copy of the project (the
// tracked files as they are in this checkout, no dist/, no node_modules), with a fresh data folder and no Electron
// runtime. It must build, create the demo volume, print the Dashboard URL, serve a page that lists the demo volume,
// and stop cleanly on Ctrl-C.
import { test, expect } from '@playwright/test';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '..');

/** the tracked files of this checkout (with their working-tree contents) copied into a fresh folder */
function freshCopy(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'is-first-run-'));
  const ls = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' });
  if (ls.status !== 0) throw new Error(`git ls-files failed: ${ls.stderr}`);
  for (const f of ls.stdout.split('\0').filter(Boolean)) {
    const src = path.join(ROOT, f);
    if (!fs.existsSync(src)) continue; // deleted in the working tree
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.copyFileSync(src, path.join(dir, f));
  }
  return dir;
}

test('npm ci && npm start on a fresh copy: the demo volume in the dashboard, then a clean stop', async ({ page }, info) => {
  test.skip(info.project.name === 'electron', 'runs the README command itself; the chromium project covers it');
  test.setTimeout(420_000);
  const copy = freshCopy();
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'is-first-run-home-'));
  // a user's environment: no data folder yet, no Electron binary (installs never download it), the port any free one
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    XDG_DATA_HOME: path.join(home, '.local', 'share'),
    XDG_STATE_HOME: path.join(home, '.local', 'state'),
    PORT: '0',
  };
  delete env.INTEGRITY_STUDIO_STATE_DIR;
  try {
    const ci = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: copy, env, encoding: 'utf8', timeout: 300_000 });
    expect(ci.status, `npm ci failed:\n${ci.stdout}\n${ci.stderr}`).toBe(0);

    const start = spawn('npm', ['start'], { cwd: copy, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    start.stdout!.on('data', (d) => {
      out += d;
    });
    start.stderr!.on('data', (d) => {
      out += d;
    });
    const exited = new Promise<string>((r) => start.on('exit', (c, sig) => r(sig ?? String(c))));
    const url = await new Promise<string>((resolve, reject) => {
      const t = setInterval(() => {
        const m = /^Dashboard: (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)\r?\n/m.exec(out);
        if (m) {
          clearInterval(t);
          resolve(m[1]!);
        }
      }, 100);
      void exited.then((c) => {
        clearInterval(t);
        reject(new Error(`npm start exited ${c} before printing the Dashboard URL:\n${out}`));
      });
    });
    expect(out).toContain('First run: creating a 32 MiB demo volume');
    const demo = path.join(home, '.local', 'share', 'integrity-studio', 'demo.img');
    expect(fs.statSync(demo).size).toBe(32 << 20);

    await page.goto(url);
    await expect(page.getByText('connected', { exact: true })).toBeVisible();
    await expect(page.getByRole('link', { name: 'demo.img', exact: true })).toBeVisible();
    // the favicon is served (it was a 404)
    const icon = await page.request.get(new URL('favicon.svg', url).href);
    expect(icon.status()).toBe(200);

    // Ctrl-C in the terminal: the whole process group gets SIGINT
    process.kill(-start.pid!, 'SIGINT');
    // npm itself ends by the signal, as a terminal program does on Ctrl-C; what it ran must have stopped cleanly
    expect(['0', 'SIGINT']).toContain(await exited);
    expect(out).toContain('SIGINT: stopping');
    expect(out).toContain('no job was running.');
    expect(out).not.toMatch(/internal error|Error:/);
    // nothing of the group is left running, and the dashboard's port is closed
    await expect
      .poll(
        () => {
          try {
            process.kill(-start.pid!, 0);
            return 'alive';
          } catch {
            return 'gone';
          }
        },
        { timeout: 15_000 },
      )
      .toBe('gone');
    await expect(page.request.get(url, { timeout: 2000 })).rejects.toThrow();
  } finally {
    fs.rmSync(copy, { recursive: true, force: true });
    fs.rmSync(home, { recursive: true, force: true });
  }
});
