// Issue 13: the dashboard offers resize (integritysetup resize) with the equivalent command. Grow with a wipe
// (progress, rate), grow into the whole file marked for recalculation (recalculating, never "clean"), shrink
// confirmed naming what is lost, errors in the form's words, refused while a job runs or another process writes.
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { test, expect, engine, shots, command, CLI } from './fixtures.js';
import { openVolume, scrubToEnd } from './helpers.js';

const MiB = 1 << 20;

function makeVolume(dir: string, name: string, mib: number, extra = ''): string {
  const img = path.join(dir, name);
  fs.writeFileSync(img, Buffer.alloc(0));
  fs.truncateSync(img, mib * MiB);
  engine(
    `import { formatVolume } from './dist/engine/commands/format.js'; formatVolume(${JSON.stringify(img)}, { force: true, confirm: () => true ${extra} });`,
  );
  return img;
}

async function openResize(page: import('@playwright/test').Page, name: string) {
  await openVolume(page, name);
  await page.getByRole('link', { name: 'Resize…' }).click();
  await expect(page.getByRole('heading', { level: 2, name: `Resize ${name}` })).toBeFocused();
}

test("grow with a wipe: sizes shown, errors in the form's words, the equivalent commands, progress, then the true size and state", async ({
  server,
  open,
  dir,
}) => {
  test.setTimeout(240_000);
  const img = makeVolume(dir, 'grow.img', 16);
  await command(server.url, 'addVolume', { path: img });
  const page = await open();
  await openResize(page, 'grow.img');
  await expect(page.getByTestId('resize-current')).toContainText('MiB');
  await expect(page.getByTestId('resize-max')).toContainText('free on its file system');
  // keyboard: from the focused heading, Tab goes through the form in reading order (the new-area choice is
  // disabled until the size grows, so it is skipped)
  await page.keyboard.press('Tab');
  await expect(page.getByLabel('A new size')).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(page.getByLabel('New size', { exact: true })).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(page.getByLabel('Unit')).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(page.getByRole('button', { name: 'Already this size' })).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(page.getByRole('button', { name: 'Cancel' })).toBeFocused();
  await page.getByLabel('A new size').check();
  const amount = page.getByLabel('New size', { exact: true });
  await amount.fill('abc');
  await expect(page.getByRole('alert')).toContainText('New size: give a number of MiB');
  await expect(amount).toHaveAttribute('aria-invalid', 'true');
  await amount.fill('99999999');
  await page.getByLabel('Unit').selectOption('TiB');
  await expect(page.getByRole('alert')).toContainText('New size: at most');
  await amount.fill('10.3');
  await page.getByLabel('Unit').selectOption('MiB');
  await expect(page.getByRole('alert')).toContainText('is not a whole number of 512-byte blocks');
  await amount.fill('600');
  await page.getByLabel('Wipe the new area (zeros with valid tags)').check();
  await expect(page.getByLabel('Equivalent integrity-studio command')).toHaveText(`integrity-studio resize ${img} --size ${600 * 2048} --wipe`);
  await expect(page.getByLabel('Equivalent integritysetup command')).toHaveText(`integritysetup resize grow.img --size ${600 * 2048} --wipe`);
  await shots(page, 'resize-form');
  await page.getByRole('button', { name: 'Grow' }).click();
  // the wipe's progress with its rate and ETA (584 MiB of zeros with tags: seconds here)
  const progress = page.getByTestId('resize-progress');
  await expect(progress).toBeVisible();
  await expect(progress).toContainText(/sectors · .*\/s · ETA/);
  await shots(page, 'resize-wiping');
  const outcome = page.getByTestId('resize-outcome');
  await expect(outcome).toContainText(/Grown from 15\.\d MiB to 600\.0 MiB/, { timeout: 120_000 });
  await expect(outcome).toContainText(/zeroed with valid tags at [\d.]+ [KMG]iB\/s/);
  await expect(outcome.getByRole('button', { name: 'Back to grow.img' })).toBeFocused();
  await expect(page.getByTestId('resize-current')).toContainText('600.0 MiB');
  await shots(page, 'resize-grown');
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { level: 2, name: 'grow.img' })).toBeFocused();
  await expect(page.locator('.muted').filter({ hasText: img }).first()).toContainText('600.0 MiB');
  // never scrubbed at this size: not "clean" until a scrub checks every block, wiped ones included
  await expect(page.getByTestId('state-badges').first()).toContainText('not checked');
  await scrubToEnd(page, 120_000);
  await expect(page.getByTestId('state-badges').first()).toContainText('clean');
  await shots(page, 'resize-volume-after');
});

test('grow into the whole file marked for recalculation: "recalculating", not checked; shrink asks, naming what is lost', async ({ server, open, dir }) => {
  test.setTimeout(180_000);
  const img = makeVolume(dir, 'whole.img', 16);
  await command(server.url, 'addVolume', { path: img });
  fs.truncateSync(img, 64 * MiB); // the admin grew the file (truncate -s)
  const page = await open();
  await openResize(page, 'whole.img');
  await expect(page.getByTestId('resize-whole')).toContainText('63.');
  await page.getByLabel(/^Whole device\/file/).check();
  await page.getByLabel('Mark the new area for recalculation (tags computed in the background)').check();
  await expect(page.getByLabel('Equivalent integrity-studio command')).toHaveText(`integrity-studio resize ${img}`);
  await page.getByRole('button', { name: 'Grow' }).click();
  const outcome = page.getByTestId('resize-outcome');
  await expect(outcome).toContainText('are being recalculated: not verified until that finishes', { timeout: 60_000 });
  await page.getByRole('button', { name: 'Back to whole.img' }).click();
  const badges = page.getByTestId('state-badges').first();
  await expect(badges).not.toContainText('clean');
  await expect(page.getByTestId('recalc-state')).toHaveText(/running|finished/, { timeout: 60_000 });
  await expect(page.getByTestId('recalc-state')).toHaveText('finished', { timeout: 60_000 });
  await expect(badges).toContainText('not checked');
  await expect(badges).not.toContainText('clean');

  // shrink: the button asks first, naming the sectors lost; Escape keeps everything
  await page.getByRole('link', { name: 'Resize…' }).click();
  await page.getByLabel('A new size').check();
  await page.getByLabel('New size', { exact: true }).fill('8');
  await page.getByLabel('Unit').selectOption('MiB');
  await expect(page.getByLabel('Equivalent integritysetup command')).toHaveText(`integritysetup resize whole.img --size ${8 * 2048}`);
  await page.getByRole('button', { name: 'Shrink…' }).click();
  const ask = page.getByRole('alertdialog');
  await expect(ask).toContainText('are lost: the image file is cut there');
  await expect(ask).toContainText(`sectors ${(8 * 2048).toLocaleString('en-US')}–`);
  await expect(ask.getByRole('button', { name: 'Shrink to 8.0 MiB' })).toBeFocused();
  await shots(page, 'resize-shrink-confirm');
  await page.keyboard.press('Escape');
  await expect(page.getByRole('button', { name: 'Shrink…' })).toBeFocused();
  const before = fs.statSync(img).size;
  await page.getByRole('button', { name: 'Shrink…' }).click();
  await page.getByRole('button', { name: 'Shrink to 8.0 MiB' }).click();
  await expect(page.getByTestId('resize-outcome')).toContainText('Shrunk from');
  await expect(page.getByTestId('resize-outcome')).toContainText('to 8.0 MiB');
  expect(fs.statSync(img).size).toBeLessThan(before);
  await expect(page.getByTestId('resize-current')).toContainText('8.0 MiB');
});

test('refused while another process writes the volume (naming it) and while a job runs here', async ({ server, open, dir }) => {
  test.setTimeout(120_000);
  // a CLI recalculation (slowed down) holds the write lock of the image
  const img = path.join(dir, 'busy.img');
  fs.writeFileSync(img, Buffer.alloc(0));
  fs.truncateSync(img, 64 * MiB);
  engine(
    `import { formatVolume } from './dist/engine/commands/format.js'; formatVolume(${JSON.stringify(img)}, { noWipe: true, integrityRecalculate: true, force: true, confirm: () => true });`,
  );
  const added = (await command(server.url, 'addVolume', { path: img })) as { id: string };
  const child = spawn(process.execPath, [CLI, 'recalc', img, '--max-rate', '1'], { stdio: 'ignore' });
  try {
    await expect
      .poll(() => fs.readdirSync(dir).some((f) => f.includes('busy.img') && f.endsWith('.lock')) || fs.existsSync(`${img}.lock`), { timeout: 20_000 })
      .toBe(true);
    const page = await open();
    await openResize(page, 'busy.img');
    const refused = page.getByTestId('resize-refused');
    await expect(refused).toContainText(`open for writing by another process (pid ${child.pid}`);
    await expect(refused).toContainText('recalc');
    await expect(
      page
        .getByRole('button', { name: 'Grow' })
        .or(page.getByRole('button', { name: 'Resize' }))
        .or(page.getByRole('button', { name: 'Already this size' })),
    ).toBeDisabled();
    await shots(page, 'resize-refused');
  } finally {
    child.kill('SIGINT');
    await new Promise((r) => child.once('exit', r));
  }
  // a job of this dashboard: the recalculation runs here now (its speed limit keeps it running)
  await command(server.url, 'updateVolume', added.id, { speedLimitMiBs: 1 });
  const page = await open();
  await openVolume(page, 'busy.img');
  await page.getByRole('button', { name: /^(Start|Resume) recalculation$/ }).click();
  await expect(page.getByTestId('recalc-state')).toHaveText('running');
  await page.getByRole('link', { name: 'Resize…' }).click();
  await expect(page.getByTestId('resize-refused')).toContainText('is running in this dashboard: pause it, then resize');
});
