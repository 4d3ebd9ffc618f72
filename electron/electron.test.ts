// The Electron path, without an Electron binary (none can be installed here): the real compiled main.ts and
// preload run against a stand-in 'electron' module (app, BrowserWindow, ipcMain, ipcRenderer, contextBridge, dialog,
// session as plain objects), wired to each other as Electron wires them. One command, one event and one dialog go
// through both: a wrong channel name, a missing exposure or a handler that is not registered fails here. Where the
// real runtime is installed, the e2e "electron" project runs the dashboard in it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import { register } from 'node:module';
import { pathToFileURL } from 'node:url';
import { IPC, type IntegrityEvent, type Transport, type VolumeSnapshot } from '../engine/api.js';
import { formatVolume } from '../engine/commands/format.js';

type Handler = (e: { senderFrame: { url: string } | null }, ...args: unknown[]) => unknown;

test("main.ts and the preload through a stand-in electron: a command, an event and a dialog, on the contract's channels", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'is-electron-'));
  const handlers = new Map<string, Handler>();
  const sent: Array<[string, unknown]> = [];
  const rendererListeners = new Map<string, Array<(e: unknown, ev: unknown) => void>>();
  // set by the stand-ins' callbacks
  const seen: { loaded: string | null; exposed: { key: string; api: Transport } | null; quit: boolean } = { loaded: null, exposed: null, quit: false };
  const closers: Array<() => void> = [];
  const page = pathToFileURL(path.resolve(import.meta.dirname, '..', 'renderer', 'index.html')).href;
  const standIn = {
    app: {
      requestSingleInstanceLock: () => true,
      whenReady: async () => undefined,
      getPath: () => path.join(dir, 'userData'),
      on: (ev: string, f: () => void) => {
        if (ev === 'window-all-closed') closers.push(f);
      },
      quit: () => {
        seen.quit = true;
      },
    },
    BrowserWindow: class {
      webContents = {
        isDestroyed: () => false,
        send: (channel: string, ev: unknown) => {
          sent.push([channel, ev]);
          for (const l of rendererListeners.get(channel) ?? []) l({}, ev);
        },
      };
      on() {
        return this;
      }
      async loadFile(f: string) {
        seen.loaded = f;
      }
    },
    ipcMain: {
      handle: (channel: string, f: Handler) => {
        handlers.set(channel, f);
      },
    },
    dialog: {
      showOpenDialog: async () => ({ canceled: false, filePaths: [path.join(dir, 'picked.img')] }),
      showSaveDialog: async (_w: unknown, o: { filters?: Array<{ extensions: string[] }> }) => ({
        canceled: false,
        filePath: path.join(dir, `export.${o.filters?.[0]?.extensions[0]}`),
      }),
    },
    session: { defaultSession: { setPermissionRequestHandler: () => undefined, webRequest: { onHeadersReceived: () => undefined } } },
  };
  (globalThis as unknown as { __electronStandIn: typeof standIn }).__electronStandIn = standIn;
  const standInUrl = `data:text/javascript,${encodeURIComponent('const e = globalThis.__electronStandIn; export const { app, BrowserWindow, ipcMain, dialog, session } = e; export default e;')}`;
  register(
    `data:text/javascript,${encodeURIComponent(`export async function resolve(s, c, n) { return s === 'electron' ? { url: ${JSON.stringify(standInUrl)}, shortCircuit: true } : n(s, c); }`)}`,
  );
  process.env.INTEGRITY_STUDIO_DATA_DIR = path.join(dir, 'data');
  await import('./main.js');
  for (let i = 0; i < 100 && !seen.loaded; i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(seen.loaded?.endsWith(path.join('renderer', 'index.html')), 'the window loads the built dashboard');
  assert.deepEqual([...handlers.keys()].sort(), [IPC.dialog, IPC.invoke].sort(), "main handles the contract's channels");

  // the preload, as Electron runs it (sandboxed CommonJS), wired to main's handlers the way ipcRenderer.invoke is
  const src = fs.readFileSync(new URL('./preload.cjs', import.meta.url), 'utf8');
  const ipcRenderer = {
    invoke: async (channel: string, ...args: unknown[]) => {
      const h = handlers.get(channel);
      if (!h) throw new Error(`No handler registered for '${channel}'`);
      return h({ senderFrame: { url: page } }, ...args);
    },
    on: (channel: string, l: (e: unknown, ev: unknown) => void) => {
      rendererListeners.set(channel, [...(rendererListeners.get(channel) ?? []), l]);
    },
    removeListener: (channel: string, l: (e: unknown, ev: unknown) => void) => {
      rendererListeners.set(
        channel,
        (rendererListeners.get(channel) ?? []).filter((x) => x !== l),
      );
    },
  };
  const module = { exports: {} };
  vm.runInNewContext(src, {
    require: (m: string) => {
      if (m !== 'electron') throw new Error(`the preload requires ${m}`);
      return {
        contextBridge: {
          exposeInMainWorld: (key: string, api: Transport) => {
            seen.exposed = { key, api };
          },
        },
        ipcRenderer,
      };
    },
    module,
    exports: module.exports,
  });
  assert.equal(seen.exposed?.key, 'integrity');
  const t = seen.exposed!.api;

  // one command: status, through invoke → main → the host → back
  const status = await t.invoke('status', []);
  assert.equal(status.transport, 'electron');
  // one event: a volume added shows as a 'volume' event on the renderer's listener
  const events: IntegrityEvent[] = [];
  const off = t.onEvent((e) => events.push(e));
  const img = path.join(dir, 'v.img');
  formatVolume(img, { size: 8 << 20 });
  const v: VolumeSnapshot = await t.invoke('addVolume', [{ path: img }]);
  assert.equal(v.path, img);
  assert.ok(
    events.some((e) => e.type === 'volume' && e.volume.id === v.id),
    'the event reached the renderer',
  );
  assert.ok(sent.every(([c]) => c === IPC.event));
  off();
  // a refusal keeps its words and code across IPC
  await assert.rejects(t.invoke('removeVolume', ['nope']), (e: Error & { code?: string }) => /no volume with id nope/.test(e.message) && e.code === 'ENOENT');
  // a call from another page is refused by main
  await assert.rejects(
    Promise.resolve(handlers.get(IPC.invoke)!({ senderFrame: { url: 'https://example.com/' } }, 'status', [])),
    /refused: IPC from an unexpected page/,
  );
  // one dialog: where to save an export, then the host writes it there
  const where = await t.pickPath!('export-csv');
  assert.equal(where, path.join(dir, 'export.csv'));
  const r = await t.invoke('exportErrors', [v.id, { format: 'csv', path: where! }]);
  assert.equal(r.ranges, 0);
  assert.match(fs.readFileSync(where!, 'utf8'), /^kind,first_sector/);
  // keys through IPC: a keyed volume made, a refusal that carries them; none comes back to the renderer (answers,
  // refusals, every event main sent) nor lands in a file of the data folder
  const crypto = await import('node:crypto');
  const { assertNoSecret } = await import('../testing/secrets.js');
  const ikey = crypto.randomBytes(32);
  const jkey = crypto.randomBytes(32);
  const keyed = {
    integrity: 'hmac-sha256',
    integrityKey: { hex: ikey.toString('hex') },
    journalCrypt: 'ctr-aes',
    journalCryptKey: { hex: jkey.toString('hex') },
  };
  const back: string[] = [];
  const kv: VolumeSnapshot = await t.invoke('createVolume', [{ path: path.join(dir, 'keyed.img'), size: 4 << 20, ...keyed }]);
  back.push(JSON.stringify(kv));
  assert.equal(kv.keys.integrity, true);
  await assert.rejects(t.invoke('createVolume', [{ path: path.join(dir, 'keyed.img'), size: 4 << 20, ...keyed }]), (e: Error) => {
    back.push(e.message);
    return /already in the list/.test(e.message);
  });
  await assert.rejects(t.invoke('unlockVolume', [kv.id, { integrityKey: { hex: `${ikey.toString('hex')}z` } }]), (e: Error) => {
    back.push(e.message);
    return /hex/.test(e.message);
  });
  assert.ok(
    sent.some(([, ev]) => (ev as IntegrityEvent).type === 'volume' && (ev as { volume: VolumeSnapshot }).volume.id === kv.id),
    "the keyed volume's events were sent",
  );
  const files = (d: string): string[] =>
    fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(d, e.name)) : [path.join(d, e.name)]));
  const dataFiles = files(path.join(dir, 'data'));
  assert.ok(
    dataFiles.some((f) => f.endsWith('volumes.json')),
    'the volume list is in the data folder',
  );
  for (const [what, k] of [
    ['integrity key', ikey],
    ['journal crypt key', jkey],
  ] as const) {
    assertNoSecret(back.join('\n'), k, what, 'the answers and refusals');
    assertNoSecret(JSON.stringify(sent), k, what, 'the events sent to the renderer');
    for (const f of dataFiles) assertNoSecret(fs.readFileSync(f), k, what, f);
  }
  // closing the window closes the host and quits
  for (const c of closers) c();
  for (let i = 0; i < 100 && !seen.quit; i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(seen.quit);
});
