// The dashboard against a real kernel: the project's `serve` runs as root inside the oracle guest (Linux 6.1, or
// ORACLE_RELEASE) over a device whose recalculation the kernel runs (slowed by dm-delay), reached through the
// oracle's port forward; chromium on this machine watches the recalculation move, stops it from the page (suspend:
// the kernel has no pause), sees it stand still, and resumes it. Skipped with the reason where the oracle cannot
// run (failing under CI=true).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test, expect, ROOT } from './fixtures.js';
import { pathToFileURL } from 'node:url';
import type { OracleRelease } from '../testing/oracle.js';
import { skipOption } from '../testing/unavailable.js';

const release = (process.env.ORACLE_RELEASE ?? 'bookworm') as OracleRelease;
// the compiled helpers (testing/golden.ts finds ../shared from dist/testing; this spec runs from the sources)
const SHARED = process.env.INTEGRITY_SHARED ?? path.resolve(ROOT, '../shared');
async function unavailable(): Promise<string | false> {
  const m = (await import(pathToFileURL(path.join(ROOT, 'dist', 'testing', 'oracle.js')).href)) as typeof import('../testing/oracle.js');
  return skipOption(m.oracleUnavailable() ?? m.releaseUnavailable(release));
}

function stage(): string {
  const dir = path.join(ROOT, '.tmp', 'live-e2e-oracle', 'project');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const copy = (p: string) =>
    fs.cpSync(path.join(ROOT, p), path.join(dir, p), {
      recursive: true,
      preserveTimestamps: true,
      filter: (s) => !s.endsWith('.map') && !s.endsWith('.test.js'),
    });
  for (const p of [
    'dist/engine',
    'dist/host',
    'dist/cli',
    'dist/renderer',
    'bin',
    'package.json',
    'node_modules/ws',
    'node_modules/@noble',
    'node_modules/@node-rs',
    'node_modules/node-gyp-build',
  ])
    copy(p);
  return dir;
}

const GUEST = (port: number) => `cd /tmp
ip link set lo up 2>/dev/null || true
modprobe dm-delay
size=$(blockdev --getsz /dev/vda)
dmsetup create slow --table "0 $size delay /dev/vda 0 250"
integritysetup format -q --no-wipe /dev/mapper/slow
integritysetup open /dev/mapper/slow live --integrity-recalculate
node -e "const n=require('net');n.createServer(c=>{const u=n.connect(${port},'127.0.0.1');c.pipe(u).pipe(c);u.on('error',()=>c.destroy());c.on('error',()=>u.destroy())}).listen(${port},'10.0.2.15')" &
node /project/bin/integrity-studio.js serve --port ${port} --data-dir /tmp/d &
sleep 900
`;

test("the kernel's recalculation watched from chromium through the forward, stopped from the page (suspend) and resumed", async ({ page }, info) => {
  test.skip(info.project.name === 'electron', 'the guest serves the browser dashboard');
  const why = await unavailable();
  test.skip(!!why, `kernel oracle unavailable: ${why}`);
  test.setTimeout(600_000);
  const work = fs.mkdtempSync(path.join(ROOT, '.tmp', 'live-e2e-'));
  const disk = path.join(work, 'vda.img');
  fs.closeSync(fs.openSync(disk, 'w'));
  fs.truncateSync(disk, 2048 * 1024 * 1024);
  const port = 20000 + Math.floor(Math.random() * 20000);
  fs.writeFileSync(path.join(work, 'guest.sh'), GUEST(port));
  const project = stage();
  let proc: ChildProcess | null = null;
  let out = '';
  try {
    const url = await (async () => {
      for (let boot = 1; ; boot++) {
        out = '';
        proc = spawn(
          path.join(SHARED, 'oracle', 'run'),
          ['--node', project, '--disk', disk, '--forward', `${port}:${port}`, '--timeout', '900', path.join(work, 'guest.sh')],
          { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ORACLE_RELEASE: release } },
        );
        const p = proc;
        const r = await new Promise<string | null>((resolve, reject) => {
          const seen = (d: Buffer) => {
            out += d;
            const m = /Dashboard: (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)\r?\n/.exec(out);
            if (m) resolve(m[1]!);
          };
          p.stdout!.on('data', seen);
          p.stderr!.on('data', seen);
          p.on('exit', (c) =>
            boot < 3 && /cannot build the --node disk images/.test(out)
              ? resolve(null)
              : reject(new Error(`the guest stopped (${c}) before serve printed its address:\n${out.slice(-3000)}`)),
          );
        });
        if (r) return r;
      }
    })();
    await page.goto(`${url}#/live/live`);
    await expect(page.getByText('connected', { exact: true })).toBeVisible({ timeout: 60_000 });
    const status = page.getByTestId('live-status');
    const position = async () =>
      Number(((await status.getByTestId('live-position').textContent()) ?? '').replace(/^sector ([\d,]+).*$/s, '$1').replace(/,/g, ''));
    await expect(status.getByTestId('live-recalc-state')).toHaveText('recalculating in the kernel', { timeout: 60_000 });
    const p0 = await position();
    await expect.poll(position, { timeout: 60_000 }).toBeGreaterThan(p0);
    await expect(status.getByTestId('live-rate')).toHaveText(/[KMG]iB\/s/, { timeout: 60_000 });
    await expect(status.getByTestId('live-eta')).toHaveText(/\d+ (s|min|h)/);
    await expect(page.getByTestId('live-table')).toContainText('recalculate');
    await page.screenshot({ path: path.join(ROOT, '.tmp', 'shots', `live-kernel-${release}-light.png`), fullPage: true });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: path.join(ROOT, '.tmp', 'shots', `live-kernel-${release}-dark.png`), fullPage: true });
    await page.emulateMedia({ colorScheme: 'light' });
    // stop it from the page: suspend (nothing holds the device, so no question), and it stands still
    const controls = page.getByTestId('live-controls');
    await expect(controls.getByTestId('control-suspend')).toContainText('dmsetup suspend live');
    await controls.getByRole('button', { name: 'Suspend (blocks all I/O)' }).click();
    await expect(controls.getByRole('status')).toBeVisible({ timeout: 60_000 });
    await expect(status.getByTestId('live-recalc-state')).toContainText('the device is suspended', { timeout: 30_000 });
    const stopped = await position();
    await page.waitForTimeout(4000);
    expect(await position()).toBe(stopped);
    // resume: it moves on from there
    await controls.getByRole('button', { name: 'Resume', exact: true }).click();
    await expect(status.getByTestId('live-recalc-state')).toHaveText('recalculating in the kernel', { timeout: 30_000 });
    await expect.poll(position, { timeout: 60_000 }).toBeGreaterThan(stopped);
  } finally {
    (proc as ChildProcess | null)?.kill('SIGTERM');
    fs.rmSync(work, { recursive: true, force: true });
    fs.writeFileSync(path.join(ROOT, '.tmp', `live-e2e-${release}.log`), out);
  }
});
