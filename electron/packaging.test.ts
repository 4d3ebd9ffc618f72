// The installers' file list (electron-builder.yml) against what the app really loads: every module reachable from
// the Electron main process and the preload (imports, workers started by URL, the CLI the app runs) is packaged, and
// no test, bench, torture, golden generator or test helper is. Installers cannot be built here (their Electron
// download is impossible), so this is how a wrong `files` entry fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../testing/golden.js';

/** the `files` patterns of electron-builder.yml (a list of strings under `files:`) */
function filesPatterns(): string[] {
  const yml = fs.readFileSync(path.join(PROJECT_ROOT, 'electron-builder.yml'), 'utf8');
  const block = /^files:\n((?: {2}- .*\n)+)/m.exec(yml);
  assert.ok(block, 'electron-builder.yml has a files: list');
  return block[1]!
    .split('\n')
    .filter(Boolean)
    .map((l) => l.replace(/^ {2}- /, '').replace(/^"(.*)"$/, '$1'));
}

/** a glob of electron-builder's (**, *) as a regular expression over paths relative to the project */
function globRe(glob: string): RegExp {
  const re = glob
    .split('**')
    .map((part) =>
      part
        .split('*')
        .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('[^/]*'),
    )
    .join('.*');
  return new RegExp(`^${re.replace(/\.\*\//g, '(?:.*/)?')}$`);
}

function packaged(rel: string, patterns: string[]): boolean {
  let inside = false;
  for (const p of patterns) {
    if (p.startsWith('!')) {
      if (globRe(p.slice(1)).test(rel)) inside = false;
    } else if (globRe(p).test(rel)) inside = true;
  }
  return inside;
}

/** every file the app can load from dist/: static and dynamic imports and `new URL('…', import.meta.url)` */
function reachable(entries: string[]): Set<string> {
  const seen = new Set<string>();
  const todo = [...entries];
  while (todo.length) {
    const f = todo.pop()!;
    if (seen.has(f) || !fs.existsSync(f) || fs.statSync(f).isDirectory()) continue;
    seen.add(f);
    if (!/\.(c?js)$/.test(f)) continue;
    const src = fs.readFileSync(f, 'utf8');
    for (const m of src.matchAll(/(?:from\s*|import\s*\(\s*|new URL\(\s*|require\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g)) {
      todo.push(path.resolve(path.dirname(f), m[1]!));
    }
  }
  return seen;
}

test('the installers package every module the app loads and none of the test tooling', () => {
  const patterns = filesPatterns();
  const dist = path.join(PROJECT_ROOT, 'dist');
  const loaded = reachable([path.join(dist, 'electron', 'main.js'), path.join(dist, 'electron', 'preload.cjs')]);
  const rel = [...loaded].map((f) => path.relative(PROJECT_ROOT, f));
  // the closure is the whole app: the host, the engine and a job worker are in it
  for (const must of ['dist/host/engine-host.js', 'dist/engine/volume.js', 'dist/engine/worker/job-worker.js', 'dist/host/workers/format-worker.js']) {
    assert.ok(rel.includes(must), `${must} is loaded by the app`);
  }
  const missing = rel.filter((r) => !packaged(r, patterns));
  assert.deepEqual(missing, [], 'loaded by the app but not in electron-builder.yml files');
  const tooling = rel.filter((r) => /^dist\/(testing|tools)\/|\.test\.js$/.test(r));
  assert.deepEqual(tooling, [], 'the app loads no test tooling');
  // and the patterns keep the tooling out whatever is built
  for (const t of [
    'dist/testing/golden.js',
    'dist/tools/bench/bench.js',
    'dist/tools/torture/crash.js',
    'dist/engine/jobs/jobs.test.js',
    'dist/host/host.test.js',
    'dist/renderer-tests/renderer/src/store.test.js',
    'dist/engine/volume.js.map',
  ]) {
    assert.equal(packaged(t, patterns), false, `${t} stays out of the installers`);
  }
  for (const p of ['dist/renderer/index.html', 'bin/integrity-studio.js', 'package.json']) assert.equal(packaged(p, patterns), true, `${p} is packaged`);
});
