// Issue 9, item 10: the CLI beside the dashboard. On main `scrub --progress-json | head -1` died with an EPIPE stack
// trace (and saved no position); `format --help` was an argument-parser error; there was no `--version`; a scrub
// the dashboard paused and the CLI finished still showed "paused" in the dashboard, whose Resume then restarted
// from 0.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { test, expect, engine, cli, CLI, command, ROOT } from './fixtures.js';
import { openVolume } from './helpers.js';

test('CLI: --version, format --help lists its options, a closed pipe on progress output ends quietly with the position saved', async ({ dir }, info) => {
  test.skip(info.project.name === 'electron', 'CLI only: it runs once, in the chromium project');
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const v = cli(['--version']);
  expect(v.status).toBe(0);
  expect(v.stdout).toContain(pkg.version);
  const h = cli(['format', '--help']);
  expect(h.status).toBe(0);
  for (const o of ['--integrity', '--journal-crypt', '--sector-size', '--no-wipe']) expect(h.stdout).toContain(o);
  expect(h.stderr).toBe('');
  const img = path.join(dir, 'pipe.img');
  fs.writeFileSync(img, Buffer.alloc(0));
  fs.truncateSync(img, 256 << 20);
  engine(`import { formatVolume } from './dist/engine/commands/format.js'; formatVolume(${JSON.stringify(img)}, { noWipe: true, confirm: () => true });`);
  const r = spawnSync('sh', ['-c', `"${process.execPath}" "${CLI}" scrub "${img}" --progress-json | head -1`], { encoding: 'utf8' });
  expect(r.stderr).not.toMatch(/EPIPE|at .*\.js:\d+/);
  expect(r.stdout.trim().split('\n')).toHaveLength(1);
  const st = cli(['status', img, '--json']);
  const s = JSON.parse(st.stdout) as { scrub: { state: string; position_sector: number } | null };
  expect(s.scrub?.state).toBe('paused');
});

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
