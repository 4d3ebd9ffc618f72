// Kernel devices with a scripted backend (testing/serve-fake-live.ts: `serve` with the fake LiveBackend injected,
// a recalculating device mounted on /srv/data, an idle one, a LUKS2 `_dif`): the list, the live status moving, the
// controls with their commands, the confirmation where I/O stops, refusals in the owner's words, the live scrub.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test as base, expect, type Page } from '@playwright/test';
import { cli, command, ROOT } from './fixtures.js';

async function startFake(dataDir: string): Promise<{ url: string; proc: ChildProcess }> {
  const proc = spawn(
    process.execPath,
    [path.join(ROOT, 'dist', 'testing', 'serve-fake-live.js'), '--data-dir', dataDir, '--rate', '20000', '--scrub-rate', '2000'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
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
    proc.on('exit', (c) => reject(new Error(`serve-fake-live exited ${c}: ${err}`)));
  });
  return { url, proc };
}

const test = base.extend<{ fake: { url: string } }>({
  // biome-ignore lint/correctness/noEmptyPattern: Playwright reads the fixtures a fixture needs from this pattern
  fake: async ({}, use, info) => {
    info.skip(info.project.name === 'electron', 'a browser-only test server (the fake backend is injected into serve)');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'is-e2e-live-'));
    const s = await startFake(path.join(dir, 'data'));
    await use(s);
    await new Promise<void>((r) => {
      if (s.proc.exitCode !== null) return r();
      s.proc.once('exit', () => r());
      s.proc.kill('SIGTERM');
    });
    fs.rmSync(dir, { recursive: true, force: true });
  },
});

async function shots(page: Page, name: string): Promise<void> {
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.screenshot({ path: path.join(ROOT, '.tmp', 'shots', `${name}-${scheme}.png`), fullPage: true });
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

const num = (s: string | null) => Number((s ?? '').replace(/[^0-9]/g, '').slice(0, 15));

test('the kernel devices list, a recalculating device watched live, its controls and the confirmation where I/O stops', async ({ page, fake }) => {
  await page.goto(`${fake.url}#/live`);
  await expect(page.getByText('connected', { exact: true })).toBeVisible();
  const list = page.getByTestId('live-list');
  await expect(list.getByRole('row')).toHaveCount(4);
  const data = list.getByRole('row').filter({ hasText: 'data' }).first();
  await expect(data).toContainText('integritysetup');
  await expect(data).toContainText('mounted on /srv/data (ext4)');
  await expect(data).toContainText('recalculating in the kernel');
  await expect(list.getByRole('row').filter({ hasText: 'vault_dif' })).toContainText('cryptsetup (under LUKS2 vault)');
  await shots(page, 'live-list');

  await list.getByRole('link', { name: 'data', exact: true }).click();
  await expect(page).toHaveURL(/#\/live\/data$/);
  const status = page.getByTestId('live-status');
  await expect(status.getByTestId('live-recalc-state')).toHaveText('recalculating in the kernel');
  // the position moves, and a rate and an ETA appear once two samples span some time
  const p1 = num(await status.getByTestId('live-position').textContent());
  await expect(status.getByTestId('live-rate')).toHaveText(/MiB\/s|KiB\/s/, { timeout: 10_000 });
  await expect(status.getByTestId('live-eta')).toHaveText(/\d+ (s|min|h)/);
  await expect.poll(async () => num(await status.getByTestId('live-position').textContent()), { timeout: 10_000 }).toBeGreaterThan(p1);
  await expect(page.getByTestId('live-table')).toContainText('internal_hash');
  await expect(page.getByTestId('live-table')).toContainText('crc32c');

  // controls: each with its command; the page never calls the recalculation's stop a pause
  const controls = page.getByTestId('live-controls');
  await expect(controls.getByTestId('control-suspend')).toContainText('dmsetup suspend data');
  await expect(controls.getByTestId('control-deactivate')).toContainText('integritysetup close data');
  await expect(controls.getByTestId('control-deactivate')).toContainText('Refused: data is in use');
  await expect(controls).toContainText('The kernel has no pause for its recalculation');
  await expect(controls.getByRole('button', { name: /pause/i })).toHaveCount(0);
  await shots(page, 'live-device');

  // suspend asks first, naming the cost; Cancel runs nothing; confirmed, the device is suspended
  await controls.getByRole('button', { name: 'Suspend (blocks all I/O)' }).click();
  const ask = controls.getByRole('alertdialog');
  await expect(ask).toContainText('data is in use (mounted at /srv/data');
  await expect(ask).toContainText('blocks every program using it');
  await shots(page, 'live-device-confirm');
  await ask.getByRole('button', { name: 'Cancel' }).click();
  await expect(page.getByTestId('live-state')).toHaveText('active');
  await controls.getByRole('button', { name: 'Suspend (blocks all I/O)' }).click();
  await controls.getByRole('alertdialog').getByRole('button', { name: 'Suspend (blocks all I/O)' }).click();
  await expect(controls.getByRole('status')).toHaveText('suspend done');
  await expect(status.getByTestId('live-recalc-state')).toContainText('the device is suspended', { timeout: 10_000 });
  await expect(page.getByTestId('live-state')).toContainText('suspended');
  await controls.getByRole('button', { name: 'Resume', exact: true }).click();
  await expect(status.getByTestId('live-recalc-state')).toHaveText('recalculating in the kernel', { timeout: 10_000 });

  // the view survives a reload
  await page.reload();
  await expect(page.getByRole('heading', { name: '/dev/mapper/data' })).toBeVisible();
  await expect(page.getByTestId('live-status').getByTestId('live-recalc-state')).toHaveText('recalculating in the kernel');
});

test('a live scrub of a mounted device: progress, the bad block it finds, what the kernel did not verify, pause', async ({ page, fake }) => {
  await page.goto(`${fake.url}#/live/data`);
  await expect(page.getByText('connected', { exact: true })).toBeVisible();
  const scrub = page.getByTestId('live-scrub');
  await scrub.getByRole('button', { name: 'Start scrub' }).click();
  await expect(scrub.getByTestId('live-scrub-state')).toHaveText('running');
  await expect(scrub.getByTestId('live-scrub-bad')).toContainText('1 — sectors 800–807', { timeout: 10_000 });
  await expect(scrub.getByTestId('live-scrub-unchecked')).toContainText("past the kernel's recalculation position");
  await expect(scrub).toContainText('+12 over the scrub, for 12 failing reads of ours');
  await shots(page, 'live-scrub');
  await scrub.getByRole('button', { name: 'Pause scrub' }).click();
  await expect(scrub.getByTestId('live-scrub-state')).toHaveText('paused');
  await expect(scrub.getByRole('button', { name: 'Resume scrub' })).toBeVisible();
  // what the bad block holds, read through the device (the scripted ext4 on /srv/data): the file and its bytes
  const map = scrub.getByTestId('live-damage-map');
  await map.getByRole('button', { name: 'Find the damaged files' }).click();
  await expect(map.getByTestId('damaged-file')).toContainText('/photos/2026/img_0412.jpg');
  await expect(map.getByTestId('file-bytes')).toContainText('of the file');
  await expect(map.getByTestId('live-map-summary')).toContainText('1 damaged file');
  await expect(map.getByTestId('live-map-stale')).toContainText('mounted');
  await shots(page, 'live-damage-map');
});

test("a LUKS2 _dif: failures come from dm-crypt, its log is shown, and its controls are refused in cryptsetup's words", async ({ page, fake }) => {
  await page.goto(`${fake.url}#/live/vault_dif`);
  await expect(page.getByText('connected', { exact: true })).toBeVisible();
  const log = page.getByTestId('crypt-log');
  await expect(log).toContainText('Failures come from dm-crypt');
  await expect(log).toContainText('INTEGRITY AEAD ERROR, sector 801');
  const controls = page.getByTestId('live-controls');
  await expect(controls.getByTestId('control-deactivate')).toContainText(/Refused: .*cryptsetup close vault/);
  await expect(controls.getByTestId('control-deactivate').getByRole('button')).toBeDisabled();
  await shots(page, 'live-luks-dif');
});

test('activate a volume of the list: the command shows key file placeholders, the held key never reaches the page', async ({ page, fake }) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'is-e2e-live-vol-'));
  try {
    const img = path.join(dir, 'keyed.img');
    const keyFile = path.join(dir, 'key.bin');
    const key = Buffer.from('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff', 'hex');
    fs.writeFileSync(keyFile, key);
    const f = cli(['format', img, '--batch-mode', '--size', String(8 << 20), '--integrity', 'hmac-sha256', '--integrity-key-file', keyFile]);
    expect(f.status, f.stderr).toBe(0);
    await command(fake.url, 'addVolume', { path: img, name: 'keyed', integrity: 'hmac-sha256', integrityKey: { file: keyFile } });
    await page.goto(`${fake.url}#/live`);
    await expect(page.getByText('connected', { exact: true })).toBeVisible();
    const form = page.getByRole('region', { name: 'Activate a volume of the list in the kernel' });
    await form.getByLabel('Volume').selectOption({ label: `keyed (${img})` });
    await form.getByLabel('Recalculate tags in the kernel (--integrity-recalculate)').check();
    await form.getByRole('button', { name: 'Show the command' }).click();
    const cmd = form.getByLabel('Equivalent command');
    await expect(cmd).toContainText(`integritysetup open ${img} keyed --integrity hmac-sha256 --integrity-key-file INTEGRITY_KEY_FILE --integrity-key-size 32`);
    await expect(cmd).toContainText('--integrity-recalculate');
    await shots(page, 'live-activate');
    await form.getByRole('button', { name: 'Activate' }).click();
    await expect(page).toHaveURL(/#\/live\/keyed$/);
    await expect(page.getByTestId('live-status').getByTestId('live-recalc-state')).toHaveText('recalculating in the kernel');
    // the list says which volume of the app's list it was opened from
    await page.getByRole('link', { name: '← Kernel devices' }).click();
    await expect(page.getByTestId('live-list').getByRole('row').filter({ hasText: 'in your list as keyed' })).toHaveCount(1);
    // one list: the app's own list says the volume is active in the kernel, and its page says what that means
    await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Volumes' }).click();
    const row = page.getByRole('row').filter({ hasText: 'keyed' });
    await expect(row.getByTestId('kernel-badge')).toHaveText('active in the kernel: keyed');
    await shots(page, 'live-in-volume-list');
    await row.getByRole('link', { name: 'keyed', exact: true }).click();
    await expect(page.getByTestId('kernel-note')).toContainText('Active in the kernel as /dev/mapper/keyed');
    await expect(page.getByTestId('kernel-note')).toContainText("the app's engine does not open it while the kernel holds it");
    // what it says to do, and the controls that would be refused, say where to act instead
    await expect(page.getByTestId('action')).toContainText('Watch, recalculate and scrub it under Kernel devices (/dev/mapper/keyed)');
    await expect(page.getByTestId('scrub-kernel-held')).toContainText('The kernel holds it (/dev/mapper/keyed)');
    await expect(page.getByRole('button', { name: 'Start scrub' })).toHaveAttribute('aria-disabled', 'true');
    await shots(page, 'live-volume-note');
    await page.getByTestId('kernel-note').getByRole('link', { name: 'Watch, recalculate and scrub it under Kernel devices' }).click();
    await expect(page).toHaveURL(/#\/live\/keyed$/);
    const html = await page.content();
    for (const form of [key.toString('hex'), key.toString('hex').toUpperCase(), key.toString('base64')]) expect(html.includes(form)).toBe(false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('deactivate a device nothing uses: it runs without a question and the page then says the device is gone', async ({ page, fake }) => {
  await page.goto(`${fake.url}#/live/quiet`);
  await expect(page.getByText('connected', { exact: true })).toBeVisible();
  await expect(page.getByTestId('live-status').getByTestId('live-recalc-state')).toHaveText('not recalculating');
  const deactivate = page.getByTestId('control-deactivate');
  await expect(deactivate).toContainText('integritysetup close quiet');
  await expect(deactivate).toContainText('the next activation continues from there');
  await deactivate.getByRole('button', { name: 'Deactivate (keeps the position)' }).click();
  await expect(page.getByTestId('live-gone')).toContainText('The device is gone', { timeout: 10_000 });
  // no controls or figures of a device that is not there
  await expect(page.getByTestId('live-controls')).toHaveCount(0);
  await expect(page.getByTestId('live-position')).toHaveCount(0);
  await shots(page, 'live-gone');
});
