#!/usr/bin/env node
// Entry point for `npx integrity-studio`: runs the compiled CLI (built by `npm ci` via the prepare script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const cli = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  process.stderr.write('integrity-studio: not built yet; run `npm run build` in the project folder\n');
  process.exit(1);
}
const { runCli } = await import(cli.href);
await runCli();
