// Issue 10, the dashboard: LUKS2 authenticated volumes (dm-crypt over dm-integrity). A kernel-made image (testing/data/crypt,
// cryptsetup 2.6.1 + kernel 6.1, with the sectors the kernel logged as failing) is added from "Add existing
// image", shown locked with its header, unlocked with a wrong then the right passphrase, scrubbed (the kernel's
// failing sectors listed, exported), locked again after a restart; a volume is created from the form. The
// passphrase and the volume key never appear in what the host sends (WebSocket frames) or writes.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import type { Page } from '@playwright/test';
import { test, expect, shots, ROOT, command } from './fixtures.js';
import { openVolume, scrubToEnd } from './helpers.js';

const TESTDATA = path.join(ROOT, 'testing', 'data', 'crypt');
interface Golden {
  name: string;
  file: string;
  passphrase: string;
  volume_key_hex: string;
  mapped_sectors: number;
  kernel_aead_error_sectors?: number[];
  flip_bytes?: Array<[number, number]>;
}
const manifest: Golden[] = JSON.parse(fs.readFileSync(path.join(TESTDATA, 'manifest.json'), 'utf8')).images;

function luksImage(name: string, dir: string): { path: string; g: Golden } {
  const g = manifest.find((x) => x.name === name)!;
  const raw = zlib.gunzipSync(fs.readFileSync(path.join(TESTDATA, g.file)));
  for (const [pos, x] of g.flip_bytes ?? []) raw[pos]! ^= x;
  const p = path.join(dir, `${name}.img`);
  fs.writeFileSync(p, raw);
  return { path: p, g };
}

/** every WebSocket frame the page receives from the host */
function captureFrames(page: Page): string[] {
  const frames: string[] = [];
  page.on('websocket', (ws) => ws.on('framereceived', (f) => frames.push(typeof f.payload === 'string' ? f.payload : f.payload.toString('utf8'))));
  return frames;
}

function filesUnder(d: string): string[] {
  return fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(path.join(d, e.name)) : [path.join(d, e.name)]));
}

function assertNoSecret(texts: string[], g: Golden, what: string): void {
  const all = texts.join('\n');
  const vk = Buffer.from(g.volume_key_hex, 'hex');
  for (const s of [g.passphrase, g.volume_key_hex, g.volume_key_hex.toUpperCase(), g.volume_key_hex.slice(0, 32), vk.toString('base64')]) {
    expect(all.includes(s), `${what} hold ${s.slice(0, 6)}…`).toBe(false);
  }
}

test("LUKS2: added locked with its header, wrong then right passphrase, scrub lists the kernel's failing sectors, export, locked again after a restart", async ({
  server,
  open,
  dir,
}) => {
  const { path: img, g } = luksImage('corrupt-xts-hmac256-512', dir);
  let page = await open();
  const frames = captureFrames(page);
  await page.reload();
  await expect(page.getByText('connected', { exact: true })).toBeVisible();
  // Add existing image: the header tells it is LUKS2; the passphrase is asked next
  await page.getByRole('button', { name: 'Add existing image' }).click();
  await page.getByLabel('Image or device').fill(img);
  await expect(page.getByText('is recognised by its header: its passphrase is asked next')).toBeVisible();
  await shots(page, 'luks-add-form');
  await page.getByRole('button', { name: 'Add volume' }).click();
  await expect(page.getByRole('heading', { level: 2, name: `Unlock ${path.basename(img)}` })).toBeFocused();
  await expect(page.getByText('aes-xts-random + hmac(sha256), 512-byte sectors; keyslots 0 (pbkdf2)')).toBeVisible();
  const pass = page.getByLabel('Passphrase', { exact: true });
  await expect(pass).toHaveAttribute('type', 'password');
  await shots(page, 'luks-unlock-form');
  // Cancel: the volume page, locked, the header shown without a key
  await page.getByRole('button', { name: 'Cancel' }).click();
  await expect(page.getByRole('heading', { level: 2, name: path.basename(img) })).toBeFocused();
  await expect(page.getByTestId('state-badges').first()).toContainText('locked');
  await expect(page.getByTestId('locked-note')).toBeVisible();
  await expect(page.getByTestId('luks-cipher')).toHaveText('aes-xts-random');
  await expect(page.getByTestId('luks-integrity')).toHaveText('hmac(sha256)');
  await expect(page.getByTestId('luks-sector')).toHaveText('512 bytes');
  await expect(page.getByRole('table', { name: 'Keyslots' })).toContainText('sha256, 1,000 iterations');
  await page.getByText('Full header (luks-dump)').click();
  await expect(page.getByLabel('luks-dump output')).toContainText('LUKS header information');
  await shots(page, 'luks-volume-locked');
  await page.getByRole('link', { name: 'Volumes', exact: false }).first().click();
  await expect(page.getByRole('row', { name: /corrupt-xts-hmac256-512/ })).toContainText('locked');
  await shots(page, 'luks-list-locked');
  await openVolume(page, path.basename(img));
  // the Unlock link by keyboard: a wrong passphrase, exactly cryptsetup's words, focus back in the emptied field
  await page.getByRole('link', { name: 'Unlock…' }).focus();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { level: 2, name: `Unlock ${path.basename(img)}` })).toBeFocused();
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  await expect(pass).toBeFocused();
  await page.keyboard.type('wrong passphrase');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('unlock-failure')).toHaveText('No key available with this passphrase.');
  await expect(pass).toBeFocused();
  await expect(pass).toHaveValue('');
  await shots(page, 'luks-unlock-wrong');
  await pass.fill(g.passphrase);
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { level: 2, name: path.basename(img) })).toBeFocused();
  await expect(page.getByTestId('state-badges').first()).toContainText('not checked');
  await expect(page.getByTestId('locked-note')).toHaveCount(0);
  // Edit…: a LUKS2 volume's name and speed limit only (its header holds the rest)
  await page.getByRole('link', { name: 'Edit…' }).click();
  await expect(page.getByRole('heading', { level: 2, name: `Edit ${path.basename(img)}` })).toBeFocused();
  await expect(page.getByLabel('Integrity algorithm (not stored on disk)')).toHaveCount(0);
  await page.getByLabel('Speed limit (MiB/s)').fill('4');
  await shots(page, 'luks-edit-form');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('heading', { level: 2, name: path.basename(img) })).toBeFocused();
  await expect(page.getByTestId('scrub-speed-limit')).toHaveText('limited to 4 MiB/s (Edit to change)');
  // scrub: a job with the same panel, sector map and history; the kernel's three failing sectors
  await scrubToEnd(page);
  await expect(page.getByTestId('state-badges').first()).toContainText('errors');
  await expect(page.getByTestId('error-count')).toHaveText('3');
  await expect(page.getByTestId('range')).toHaveText(['sector 100', 'sectors 300–301']);
  expect(g.kernel_aead_error_sectors).toEqual([100, 300, 301]);
  await expect(page.getByTestId('aead-lines')).toHaveText([
    'INTEGRITY AEAD ERROR, sector 100',
    'INTEGRITY AEAD ERROR, sector 300\nINTEGRITY AEAD ERROR, sector 301',
  ]);
  await expect(page.getByTestId('scrub-state')).toHaveText('finished');
  await shots(page, 'luks-volume-errors');
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export JSON' }).click()]);
  const exported = JSON.parse(fs.readFileSync((await dl.path())!, 'utf8'));
  // one export schema for every volume (host/damage-list.ts), streamed by the host; a LUKS2 range carries its kernel lines
  expect(exported.ranges.map((r: { first_sector: number; last_sector: number }) => [r.first_sector, r.last_sector + 1])).toEqual([
    [100, 101],
    [300, 302],
  ]);
  expect(exported.ranges.flatMap((r: { kernel_log: string[] }) => r.kernel_log)).toEqual([
    'INTEGRITY AEAD ERROR, sector 100',
    'INTEGRITY AEAD ERROR, sector 300',
    'INTEGRITY AEAD ERROR, sector 301',
  ]);
  expect(exported.bad_blocks).toBe(3);
  expect(exported.scrub.checked_blocks).toBe(g.mapped_sectors);
  const [csv] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
  expect(fs.readFileSync((await csv.path())!, 'utf8')).toContain('300,300,"INTEGRITY AEAD ERROR, sector 300"');
  // a host restart forgets the key: locked again, the last scrub still known
  await server.restart();
  page = await open();
  await expect(page.getByRole('row', { name: /corrupt-xts-hmac256-512/ })).toContainText('locked');
  await expect(page.getByRole('row', { name: /corrupt-xts-hmac256-512/ })).toContainText('errors');
  // nothing the host sent or wrote holds the passphrase or the volume key
  expect(frames.length).toBeGreaterThan(5);
  assertNoSecret(frames, g, 'WebSocket frames from the host');
  const written = filesUnder(dir).filter((f) => !f.endsWith('.img'));
  expect(written.some((f) => f.endsWith('volumes.json'))).toBe(true);
  expect(written.some((f) => f.endsWith('.scrub.json'))).toBe(true);
  assertNoSecret(
    written.map((f) => fs.readFileSync(f, 'latin1')),
    g,
    'files the host wrote',
  );
});

test('LUKS2: create from the form — refusal over data, the equivalent commands without the passphrase, KDF and wipe, then a clean scrub', async ({
  dashboard: page,
  dir,
}) => {
  const frames = captureFrames(page);
  await page.reload();
  await expect(page.getByText('connected', { exact: true })).toBeVisible();
  const passphrase = 'created in the form ✓';
  await page.getByRole('button', { name: 'Create volume' }).click();
  await expect(page.getByRole('heading', { level: 2, name: 'Create volume' })).toBeFocused();
  await shots(page, 'create-form-luks-link');
  // by keyboard: the link is the first control after the heading
  await page.keyboard.press('Tab');
  await expect(page.getByRole('link', { name: 'Create a LUKS2 authenticated (encrypted) volume instead' })).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { level: 2, name: 'Create LUKS2 authenticated volume' })).toBeFocused();
  // an existing file holding data: refused in the form's words unless the box is ticked
  const used = path.join(dir, 'used.img');
  fs.writeFileSync(used, Buffer.alloc(20 << 20, 0x5a));
  await page.getByLabel('Image path').fill(used);
  await page.getByLabel('Integrity', { exact: true }).selectOption('aead');
  await expect(page.getByLabel('Cipher', { exact: true })).toHaveValue('aes-gcm-random');
  await expect(page.getByLabel('Key size')).toHaveValue('256');
  await page.getByLabel('Key derivation (PBKDF)').selectOption('pbkdf2');
  await page.getByLabel('Iterations / time cost').fill('1000');
  await page.getByLabel('Passphrase', { exact: true }).fill(passphrase);
  await page.getByLabel('Passphrase again').fill(passphrase + 'x');
  await page.getByRole('button', { name: 'Create' }).click();
  await expect(page.getByText('Passphrases do not match.')).toBeVisible();
  await expect(page.getByLabel('Passphrase again')).toBeFocused();
  await page.getByLabel('Passphrase again').fill(passphrase);
  await page.getByRole('button', { name: 'Create' }).click();
  // asked first, naming the file, its size and that its contents are lost; Cancel writes nothing
  const ask = page.getByTestId('overwrite-question');
  await expect(ask).toContainText(`Format file ${used} (20.0 MiB)? It holds data with no known signature`);
  await expect(ask).toContainText('everything on it is lost');
  await shots(page, 'luks-create-refused');
  await ask.getByRole('button', { name: 'Cancel' }).click();
  expect(fs.readFileSync(used).equals(Buffer.alloc(20 << 20, 0x5a))).toBe(true);
  // a new image instead
  const img = path.join(dir, 'new-luks.img');
  await page.getByLabel('Image path').fill(img);
  await page.getByLabel('Size (MiB, only for a new image)').fill('24');
  await page.getByLabel('Name', { exact: true }).fill('encrypted disk');
  const cmd = page.getByLabel('Equivalent cryptsetup command');
  await expect(cmd).toHaveText(
    `truncate -s 24M ${img}\ncryptsetup luksFormat --type luks2 --cipher aes-gcm-random --integrity aead --key-size 256 --sector-size 4096 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 ${img}`,
  );
  await expect(page.getByLabel('Equivalent integrity-studio command')).toContainText(
    `integrity-studio luks-format --cipher aes-gcm-random --integrity aead --key-size 256 --sector-size 4096 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 ${img}`,
  );
  await expect(page.locator('pre.cmd')).not.toContainText([passphrase]);
  await shots(page, 'luks-create-form');
  await page.getByRole('button', { name: 'Create' }).click();
  await expect(page.getByRole('heading', { level: 2, name: 'encrypted disk' })).toBeFocused({ timeout: 30_000 });
  await expect(page.getByTestId('luks-cipher')).toHaveText('aes-gcm-random');
  await expect(page.getByTestId('luks-integrity')).toHaveText('aead');
  await expect(page.getByTestId('state-badges').first()).toContainText('not checked');
  // the host ran the KDF and the wipe and said so
  const events = frames.map((f) => JSON.parse(f) as { event?: { type: string; phase?: string; done?: unknown; total?: unknown } });
  expect(events.some((e) => e.event?.type === 'kdf-progress')).toBe(true);
  expect(events.some((e) => e.event?.type === 'format-progress' && e.event.phase === 'wipe' && e.event.done === e.event.total)).toBe(true);
  await scrubToEnd(page);
  await expect(page.getByTestId('state-badges').first()).toContainText('clean');
  await expect(page.getByText(/None: every one of the [\d,]+ encryption sectors was authenticated\./)).toBeVisible();
  await shots(page, 'luks-created-clean');
  expect(frames.join('\n').includes(passphrase)).toBe(false);
  for (const f of filesUnder(dir).filter((x) => !x.endsWith('.img'))) expect(fs.readFileSync(f, 'utf8').includes(passphrase)).toBe(false);
});

test('LUKS2: a long KDF shows its progress while unlocking (an estimate until done); focus lands on the volume', async ({ server, open, dir }) => {
  const img = path.join(dir, 'slow-kdf.img');
  // made through the API with a slow pbkdf2 (what the form does), then the host restarts: locked
  await command(server.url, 'createLuksVolume', {
    path: img,
    size: 20 << 20,
    integrity: 'poly1305',
    cipher: 'chacha20-random',
    keySize: 256,
    sectorSize: 512,
    pbkdf: 'pbkdf2',
    pbkdfIterations: 2_000_000,
    secret: { passphrase: 'slow one' },
    noWipe: true,
  });
  await server.restart();
  const page = await open();
  await openVolume(page, 'slow-kdf.img');
  await expect(page.getByTestId('state-badges').first()).toContainText('locked');
  await page.getByRole('link', { name: 'Unlock…' }).click();
  await page.getByLabel('Passphrase', { exact: true }).fill('slow one');
  await page.getByRole('button', { name: 'Unlock', exact: true }).click();
  const bar = page.getByRole('progressbar', { name: 'Deriving the key' });
  await expect(bar).toBeVisible();
  await expect(page.getByText(/pbkdf2: [\d.]+ s of about [\d.]+ s \(an estimate from its costs\)/)).toBeVisible();
  await expect.poll(async () => Number(await bar.getAttribute('aria-valuenow'))).toBeGreaterThan(0);
  await shots(page, 'luks-unlock-kdf-progress');
  await expect(page.getByRole('heading', { level: 2, name: 'slow-kdf.img' })).toBeFocused({ timeout: 30_000 });
  await expect(page.getByTestId('state-badges').first()).toContainText('not checked');
  // made without the wipe: every unwritten sector fails, and the page says why (a guess, labelled), not "wrong key"
  await scrubToEnd(page);
  await expect(page.getByTestId('state-badges').first()).toContainText('errors');
  await expect(page.getByText('every checked sector failed authentication (a guess: the volume was made without the wipe')).toBeVisible();
  await shots(page, 'luks-no-wipe-scrubbed');
});
