// The dashboard end to end against the real engine: create from the form; recalculate a --no-wipe
// --integrity-recalculate volume with pause, a server restart (the persisted position survives) and resume;
// corrupt a sector on disk, scrub, see the count and the range. Screenshots go to test-results/screenshots.
import fs from 'node:fs';
import path from 'node:path';
import { test, expect, engine, shot } from './fixtures.js';

test('create a volume from the form', async ({ dashboard: page, dir }) => {
  await shot(page, 'volume-list-empty');
  await page.getByRole('button', { name: 'Create volume' }).click();
  const img = path.join(dir, 'created.img');
  await page.getByLabel('Image path').fill(img);
  await page.getByLabel('Size (MiB, for a new image)').fill('16');
  await page.getByLabel('Integrity algorithm').selectOption('sha256');
  await page.getByLabel('Interleave sectors').fill('12');
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  await expect(page.getByText('Interleave sectors must be a power of two from 8 to 2147483648')).toBeVisible();
  expect(fs.existsSync(img)).toBe(false);
  await page.getByLabel('Interleave sectors').fill('');
  await expect(page.getByLabel('Equivalent format command')).toHaveText(`integritysetup format ${img} --integrity sha256`);
  await shot(page, 'create-form');
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'created.img' })).toBeVisible();
  await expect(page.getByText('Tag size', { exact: true }).locator('xpath=following-sibling::dd[1]')).toHaveText('32 bytes');
  await expect(page.getByLabel('Equivalent open command')).toContainText('integritysetup open');
  expect(fs.readFileSync(img).subarray(0, 8).toString('latin1')).toBe('integrt\0');
  expect(fs.statSync(img).size).toBe(16 << 20);
  await shot(page, 'volume-page-created');
  await page.getByRole('button', { name: '← Volumes' }).click();
  await expect(page.getByRole('link', { name: 'created.img' })).toBeVisible();
  await shot(page, 'volume-list');
});

async function jobsAvailable(url: string): Promise<boolean> {
  const u = new URL(url);
  const r = await fetch(`${u.origin}/api/status?token=${u.searchParams.get('token')}`, { method: 'POST' });
  return ((await r.json()) as { jobs_available: boolean }).jobs_available;
}

test('recalculate over data: pause, restart the server, resume, done', async ({ server, open, dir }) => {
  test.skip(!(await jobsAvailable(server.url)), 'engine/jobs (recalc/scrub workers, branch jobs) is not in this build');
  const img = path.join(dir, 'recalc.img');
  // data first, then a --no-wipe --integrity-recalculate format over it (the engine's formatVolume). The engine
  // recalculates at > 100 MiB/s here, so the image is 512 MiB (sparse past its first 16 MiB of data) to leave
  // time to pause.
  fs.writeFileSync(img, Buffer.alloc(16 << 20, 0x5a));
  fs.truncateSync(img, 512 << 20);
  engine(`import { formatVolume } from './dist/engine/commands/format.js'; formatVolume(${JSON.stringify(img)}, { noWipe: true, integrityRecalculate: true, force: true, confirm: () => true });`);
  const u = new URL(server.url);
  await fetch(`${u.origin}/api/addVolume?token=${u.searchParams.get('token')}`, { method: 'POST', body: JSON.stringify([{ path: img }]) });
  let page = await open();
  await page.getByRole('link', { name: 'recalc.img' }).click();
  const bar = page.getByRole('progressbar', { name: 'Recalculation progress' });
  await expect(bar).toHaveAttribute('aria-valuenow', '0');
  await page.getByRole('button', { name: 'Start recalculation' }).click();
  await expect.poll(async () => Number(await bar.getAttribute('aria-valuenow'))).toBeGreaterThan(0);
  await page.getByRole('button', { name: 'Pause recalculation' }).click();
  await expect(page.getByTestId('recalc-state')).toHaveText('paused');
  const paused = Number(await page.getByTestId('recalc-position').textContent());
  expect(paused).toBeGreaterThan(0);
  await shot(page, 'recalc-paused');
  await server.restart();
  page = await open();
  await page.getByRole('link', { name: 'recalc.img' }).click();
  await expect(page.getByTestId('recalc-state')).toHaveText('paused');
  const persisted = Number(await page.getByTestId('recalc-position').textContent());
  expect(persisted).toBeGreaterThan(0);
  expect(persisted).toBeLessThanOrEqual(paused);
  await page.getByRole('button', { name: 'Resume recalculation' }).click();
  await expect(page.getByTestId('recalc-state')).toHaveText('done', { timeout: 45_000 });
  await expect(bar).toHaveAttribute('aria-valuenow', '100');
  await shot(page, 'recalc-done');
  // the engine agrees: every tag verifies
  const r = engine(`import { main } from './dist/engine/cli/main.js'; process.exitCode = await main(['verify', ${JSON.stringify(img)}, '--json'], { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) });`);
  expect(r).toMatch(/"mismatches":\s*0/);
});

test('corrupt a sector on disk, scrub, see the count and the range (also after a server restart)', async ({ server, open, dir }) => {
  test.skip(!(await jobsAvailable(server.url)), 'engine/jobs (recalc/scrub workers, branch jobs) is not in this build');
  const img = path.join(dir, 'scrub.img');
  const out = engine(`import { formatVolume } from './dist/engine/commands/format.js'; const r = formatVolume(${JSON.stringify(img)}, { size: 16 << 20, confirm: () => true }); console.log(JSON.stringify({ initial: r.plan.geometry.initial_sectors, run: r.plan.geometry.metadata_run }));`);
  const g = JSON.parse(out) as { initial: number; run: number };
  // logical sector 1000 of the first interleave area lives at initial + metadata_run + 1000
  const fd = fs.openSync(img, 'r+');
  fs.writeSync(fd, Buffer.alloc(512, 0xee), 0, 512, (g.initial + g.run + 1000) * 512);
  fs.closeSync(fd);
  // add the existing image from the dashboard, as a user with a volume made elsewhere would
  const page = await open();
  await page.getByRole('button', { name: 'Add existing image' }).click();
  await page.getByLabel('Image or device').fill(img);
  await page.getByLabel('Integrity algorithm (not stored on disk)').selectOption('crc32c');
  await shot(page, 'add-existing');
  await page.getByRole('button', { name: 'Add volume' }).click();
  await expect(page.getByRole('heading', { name: 'scrub.img' })).toBeVisible();
  await page.getByRole('button', { name: 'Start scrub' }).click();
  await expect(page.getByTestId('scrub-state')).toHaveText('done', { timeout: 30_000 });
  await expect(page.getByRole('progressbar', { name: 'Scrub progress' })).toHaveAttribute('aria-valuenow', '100');
  await expect(page.getByTestId('error-count')).toHaveText('1');
  await expect(page.getByLabel('Bad sector ranges')).toHaveText('sectors 1000–1000');
  await expect(page.locator('.sectormap .cell.bad')).toHaveCount(1);
  await shot(page, 'scrub-errors');
  await server.restart();
  const again = await open();
  await expect(again.getByRole('row', { name: /scrub\.img/ })).toContainText('errors');
  await again.getByRole('link', { name: 'scrub.img' }).click();
  await expect(again.getByTestId('error-count')).toHaveText('1');
  await expect(again.getByLabel('Bad sector ranges')).toHaveText('sectors 1000–1000');
});
