#!/usr/bin/env node
// Runs every compiled test file (dist/**/*.test.js) with node's test runner.
// --unit skips the slow suites (oracle round trips, e2e); the full run is what CI does.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const unit = process.argv.includes('--unit');
/** a compiled test whose source was deleted (or moved) is not run: dist/ keeps old outputs between builds */
function hasSource(p) {
  const rel = p.replace(/^dist\/(renderer-tests\/)?/, '').replace(/\.js$/, '');
  return ['.ts', '.tsx', '.cts'].some((ext) => existsSync(rel + ext));
}
const files = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.js') && (!unit || !/\.(oracle|slow)\.test\.js$/.test(name)) && hasSource(p)) files.push(p);
  }
}
for (const d of ['dist/engine', 'dist/host', 'dist/cli', 'dist/electron', 'dist/testing', 'dist/tools', 'dist/renderer-tests']) {
  try {
    walk(d);
  } catch {
    /* folder not built */
  }
}
files.sort();
const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', '--test-concurrency=2', ...files], { stdio: 'inherit' });
process.exitCode = r.status ?? 1;
// the JavaScript fallback (no native addon) on the hash, golden-image and job tests, so both paths stay kernel-exact
const fallback = files.filter((f) => /(hash|jobs|bitmap-mode|journal-keys|readonly)\.test\.js$/.test(f));
if (fallback.length) {
  console.log('== again with INTEGRITY_STUDIO_NO_NATIVE=1 (the JavaScript hashes):', fallback.join(' '));
  const f = spawnSync(process.execPath, ['--test', '--test-reporter=spec', '--test-concurrency=2', ...fallback], {
    stdio: 'inherit',
    env: { ...process.env, INTEGRITY_STUDIO_NO_NATIVE: '1' },
  });
  if ((f.status ?? 1) !== 0) process.exitCode = f.status ?? 1;
}
// e2e: the dashboard in Debian's chromium against `serve` and the real engine (and Electron where it is installed)
if (!unit && existsSync('playwright.config.ts') && existsSync('dist/renderer/index.html')) {
  const e = spawnSync(process.execPath, ['node_modules/@playwright/test/cli.js', 'test'], { stdio: 'inherit' });
  if ((e.status ?? 1) !== 0) process.exitCode = e.status ?? 1;
}
