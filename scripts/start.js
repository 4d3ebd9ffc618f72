#!/usr/bin/env node
// `npm start`: builds what is missing, then runs the Electron app where its runtime is installed; otherwise says
// so and starts browser mode (`integrity-studio serve`) with a demo volume created on first run in the data
// folder ($XDG_DATA_HOME/integrity-studio or ~/.local/share/integrity-studio), and prints the Dashboard URL.
import { existsSync, mkdirSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

const node = process.execPath;
// the compiled CLI is run through bin/integrity-studio.js, as a user runs it: the module itself only exports main()
const BIN = 'bin/integrity-studio.js';
const CLI_MAIN = 'dist/cli/main.js';
const SERVE = 'dist/host/serve.js';
function run(args) {
  const r = spawnSync(node, args, { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
run(['scripts/build-native.js']); // the tag-hashing addon (skips when up to date; falls back to JS without a compiler)
if (!existsSync(CLI_MAIN) || !existsSync(SERVE)) run(['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json']);
if (!existsSync('dist/renderer/index.html')) run(['scripts/build-renderer.js']);

let electron = null;
try {
  const p = createRequire(import.meta.url)('electron');
  if (typeof p === 'string' && existsSync(p)) electron = p;
} catch {
  /* optional dependency not installed */
}

if (electron) {
  const child = spawn(electron, ['dist/electron/main.js'], { stdio: 'inherit' });
  child.on('exit', (c) => process.exit(c ?? 0));
} else {
  console.log('Electron runtime not installed here: starting the dashboard in browser mode (integrity-studio serve).');
  const dataDir = path.join(process.env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share'), 'integrity-studio');
  mkdirSync(dataDir, { recursive: true });
  const demo = path.join(dataDir, 'demo.img');
  const images = [];
  if (!existsSync(demo)) {
    console.log(`First run: creating a 32 MiB demo volume at ${demo}`);
    run([BIN, 'format', demo, '--size', String(32 << 20), '--batch-mode']);
    images.push(demo);
  }
  const port = process.env.PORT ?? '0';
  const child = spawn(node, [BIN, 'serve', '--port', port, '--data-dir', dataDir, ...images], { stdio: 'inherit' });
  const stop = () => child.kill('SIGTERM');
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  child.on('exit', (c) => process.exit(c ?? 0));
}
