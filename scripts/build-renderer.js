// Builds the dashboard with vite when the renderer exists (it is part of every checkout from the app issue on).
import { existsSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
if (!existsSync('renderer/vite.config.ts')) {
  console.log('renderer: no renderer/vite.config.ts, dashboard build skipped');
  process.exit(0);
}
// the renderer's store/component tests (node:test) compile to dist/renderer-tests, made afresh so a test file
// that was deleted from the sources is not run from an old build
rmSync('dist/renderer-tests', { recursive: true, force: true });
// the dashboard as it ships: browser code, without Node's types (renderer/tsconfig.json), then its tests
for (const config of ['renderer/tsconfig.json', 'renderer/tsconfig.test.json']) {
  const t = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', config], { stdio: 'inherit' });
  if (t.status !== 0) process.exit(t.status ?? 1);
}
const r = spawnSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--config', 'renderer/vite.config.ts'], { stdio: 'inherit' });
process.exit(r.status ?? 1);
