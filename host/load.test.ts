// Under load: two dashboards (two WebSocket clients of one real serve) each scrub their own volume while a CLI
// scrub runs on a third; all three finish with every block checked. A second writer on a volume a CLI recalc holds
// is refused, and the dashboard's job error and snapshot name who holds it (pid and command, from the lock file).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { startServe } from '../tools/torture/host-fuzz.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/integrity-studio.js');

type Snap = {
  id: string;
  path: string;
  state: string;
  error: string | null;
  jobs: Record<string, { state: string; position_sector: number; total_sectors: number; error?: string; read_errors?: number } | undefined>;
};

function dashboard(url: string): Promise<{ call(cmd: string, ...a: unknown[]): Promise<unknown>; close(): void }> {
  const ws = new WebSocket(url);
  let n = 0;
  const waiting = new Map<number, (f: { ok: boolean; result?: unknown; error?: string }) => void>();
  ws.on('message', (d) => {
    const f = JSON.parse(String(d));
    if (!f.event) waiting.get(f.id)?.(f);
  });
  return new Promise((res, rej) => {
    ws.once('error', rej);
    ws.once('open', () =>
      res({
        close: () => ws.close(),
        call: (cmd, ...args) =>
          new Promise((r, j) => {
            const id = ++n;
            waiting.set(id, (f) => (f.ok ? r(f.result) : j(new Error(f.error))));
            ws.send(JSON.stringify({ id, cmd, args }));
          }),
      }),
    );
  });
}

function format(img: string, size: string, extra: string[] = []): void {
  const r = spawnSync(process.execPath, [BIN, 'format', img, '--size', size, '--batch-mode', ...extra], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

test('two dashboards and a CLI scrub at once; a second writer refused with the holder named', { timeout: 240_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'is-load-'));
  const [a, b, c, d] = ['a.img', 'b.img', 'c.img', 'd.img'].map((f) => path.join(dir, f));
  for (const img of [a, b, c]) format(img!, '48M');
  format(d!, '512M', ['--integrity', 'sha256', '--no-wipe']);
  const s = await startServe(path.join(dir, 'data'), [a!, b!, d!], dir);
  try {
    const one = await dashboard(s.url);
    const two = await dashboard(s.url);
    const vols = () => one.call('listVolumes') as Promise<Snap[]>;
    const byPath = async (p: string) => (await vols()).find((v) => v.path === p)!;
    const [va, vb, vd] = [await byPath(a!), await byPath(b!), await byPath(d!)];
    // the CLI scrub of c, and each dashboard scrubbing its own volume, at the same time
    const cli = spawn(process.execPath, [BIN, 'scrub', c!, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let cliOut = '';
    cli.stdout!.on('data', (x) => {
      cliOut += x;
    });
    const cliDone = new Promise<number | null>((r) => cli.on('exit', r));
    await Promise.all([one.call('startScrub', va!.id), two.call('startScrub', vb!.id)]);
    const until = async (ok: () => Promise<boolean>, what: string) => {
      for (let i = 0; i < 1200; i++) {
        if (await ok()) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.fail(`timed out waiting for ${what}`);
    };
    await until(async () => (await byPath(a!)).jobs.scrub?.state === 'done' && (await byPath(b!)).jobs.scrub?.state === 'done', 'both dashboard scrubs');
    assert.equal(await cliDone, 0);
    const j = JSON.parse(cliOut) as { state: string; mismatches: number; read_errors: number; checked_blocks: number; provided_data_sectors: number };
    assert.equal(j.state, 'done');
    assert.equal(j.mismatches, 0);
    assert.equal(j.read_errors, 0);
    assert.equal(j.checked_blocks, j.provided_data_sectors, 'the CLI checked every block');
    for (const p of [a!, b!]) assert.equal((await byPath(p)).state, 'clean');

    // a CLI recalc of d holds its writer's lock; the dashboard's recalc of d is refused and names it
    const rec = spawn(process.execPath, [BIN, 'recalc', d!, '--integrity', 'sha256', '--reset', '--progress-json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const recDone = new Promise<number | null>((r) => rec.on('exit', r));
    await new Promise<void>((r) => rec.stdout!.once('data', () => r()));
    await two.call('startRecalc', vd!.id).catch(() => undefined);
    let snap: Snap | undefined;
    await until(async () => {
      snap = await byPath(d!);
      return snap.jobs.recalc?.state === 'failed';
    }, 'the refused recalc');
    const err = snap!.jobs.recalc!.error!;
    assert.match(
      err,
      new RegExp(
        `in use by another process \\(pid ${rec.pid}: integrity-studio recalc .*d\\.img --integrity sha256 --reset --progress-json\\) that has it open for writing; only one writer at a time`,
      ),
    );
    assert.match(snap!.error ?? '', /pid \d+: integrity-studio recalc/, 'the snapshot names the holder too');
    rec.kill('SIGINT');
    await recDone;
    assert.equal(s.exited(), null);
    one.close();
    two.close();
  } finally {
    await s.stop();
  }
});
