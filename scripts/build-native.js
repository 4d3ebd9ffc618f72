#!/usr/bin/env node
// Builds the native tag hashing addon (native/, Node-API) with node-gyp, as `npm ci` (prepare) and `npm run build`
// do. Never fails the install: without a compiler, Python or node headers it says why once and the engine uses its
// JavaScript hashes (same tags, slower). Skips the build when the binary is newer than its sources, or when a
// prebuilt binary for this platform ships in native/prebuilds (npm packages made with `npm run prebuildify`).
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(root, 'native');
const out = join(dir, 'build', 'Release', 'integrity_tags.node');
const say = (m) => process.stderr.write(`integrity-studio: ${m}\n`);

if (process.env.INTEGRITY_STUDIO_NO_NATIVE && process.env.INTEGRITY_STUDIO_NO_NATIVE !== '0') {
  say('INTEGRITY_STUDIO_NO_NATIVE is set: native tag hashing not built (the JavaScript hashes will be used)');
  process.exit(0);
}
const prebuilt = join(dir, 'prebuilds', `${process.platform}-${process.arch}`);
if (existsSync(prebuilt) && readdirSync(prebuilt).some((f) => f.endsWith('.node'))) process.exit(0);

const sources = [join(dir, 'binding.gyp'), ...readdirSync(join(dir, 'src')).map((f) => join(dir, 'src', f))];
if (existsSync(out) && sources.every((s) => statSync(s).mtimeMs <= statSync(out).mtimeMs) && !process.argv.includes('--force')) process.exit(0);

// npm passes its bundled node-gyp to scripts; outside npm, look for npm's own copy next to this node
const candidates = [
  process.env.npm_config_node_gyp,
  join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  join(dirname(process.execPath), 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
].filter(Boolean);
const gyp = candidates.find((c) => existsSync(c));
if (!gyp) {
  say('node-gyp not found (it comes with npm): native tag hashing not built; the JavaScript hashes will be used');
  process.exit(0);
}
const args = [gyp, 'rebuild', '--directory', dir];
// the headers of the running node, when it ships them (official builds do), so nothing is downloaded
const prefix = join(dirname(process.execPath), '..');
if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
const t0 = Date.now();
const r = spawnSync(process.execPath, args, { cwd: dir, encoding: 'utf8', env: { ...process.env, npm_config_loglevel: 'error' } });
const log = join(dir, 'build.log');
writeFileSync(log, `${r.stdout ?? ''}\n${r.stderr ?? ''}${r.error ? String(r.error) : ''}`);
if (r.status !== 0 || !existsSync(out)) {
  const why =
    (r.stderr ?? '')
      .split('\n')
      .find((l) => /error|not found|No such/i.test(l))
      ?.trim() ?? `node-gyp exited ${r.status}`;
  say(`native tag hashing could not be built (${why}; see native/build.log): the JavaScript hashes will be used (same tags, slower)`);
  process.exit(0);
}
say(`native tag hashing built in ${((Date.now() - t0) / 1000).toFixed(1)} s (native/build/Release/integrity_tags.node)`);
