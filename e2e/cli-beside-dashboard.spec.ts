// The CLI beside the dashboard: a scrub the dashboard paused and the CLI finished once still showed "paused" in the
// dashboard, whose Resume then restarted from 0. (The CLI's own checks are node tests in cli/.)
import fs from 'node:fs';
import path from 'node:path';
import { test, expect, engine, cli, command } from './fixtures.js';
import { openVolume } from './helpers.js';

test('a scrub paused in the dashboard and finished by the CLI shows finished in the dashboard (one state)', async ({ server, open, dir }) => {
  const img = path.join(dir, 'shared.img');
  fs.writeFileSync(img, Buffer.alloc(0));
  fs.truncateSync(img, 512 << 20);
  engine(`import { formatVolume } from './dist/engine/commands/format.js'; formatVolume(${JSON.stringify(img)}, { noWipe: true, confirm: () => true });`);
  const added = (await command(server.url, 'addVolume', { path: img })) as { id: string };
  // the volume's speed limit keeps the dashboard's scrub running until Pause is clicked
  await command(server.url, 'updateVolume', added.id, { speedLimitMiBs: 32 });
  const page = await open();
  await openVolume(page, 'shared.img');
  const toggle = page.getByRole('region', { name: 'Scrub', exact: true }).getByRole('button', { name: /^(Start|Pause|Resume) scrub$/ });
  await toggle.click();
  await expect(toggle).toHaveText('Pause scrub');
  await toggle.click();
  await expect(page.getByTestId('scrub-state')).toHaveText('paused');
  // the CLI resumes it from the same state file and finishes it (exit 4: --no-wipe left the tags unwritten, so
  // every block mismatches — which is also what the dashboard must then show)
  const r = cli(['scrub', img]);
  expect(r.status).toBe(4);
  await page.reload();
  await expect(page.getByTestId('scrub-state')).toHaveText('finished', { timeout: 15_000 });
  await expect(toggle).toHaveText('Start scrub');
  await expect(page.getByTestId('state-badges').first()).toContainText('errors');
  await expect(page.getByTestId('state-badges').first()).not.toContainText('check paused');
  await expect(page.getByRole('table', { name: 'Last scrub runs' })).toContainText('CLI');
});
