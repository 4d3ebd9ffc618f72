// Test server: `serve` with the fake LiveBackend (testing/fake-live-backend.ts) injected, for the dashboard's e2e of
// kernel devices on a machine without device-mapper. `node dist/testing/serve-fake-live.js --data-dir D [--rate N]`
// prints "Dashboard: URL" as serve does and stops on SIGTERM.
import { parseArgs } from 'node:util';
import { startServer } from '../host/serve.js';
import { FakeLiveBackend } from './fake-live-backend.js';

const { values, positionals } = parseArgs({
  options: { 'data-dir': { type: 'string' }, rate: { type: 'string' }, 'scrub-rate': { type: 'string' } },
  allowPositionals: true,
});
const backend = new FakeLiveBackend({
  ...(values.rate ? { rate: Number(values.rate) } : {}),
  ...(values['scrub-rate'] ? { scrubRate: Number(values['scrub-rate']) } : {}),
});
const s = await startServer({ dataDir: values['data-dir'], images: positionals, newToken: true, liveBackend: backend, pollMs: 0 });
process.stdout.write(`Dashboard: ${s.url}\n`);
process.once('SIGTERM', () => {
  void s.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
