// Electron main process: one hardened window (contextIsolation, sandbox, no nodeIntegration, strict CSP, no
// navigation, no new windows, no permissions), the EngineHost (host) behind validated IPC, native
// open/save dialogs. Keys stay in this process; the renderer only learns whether one is set.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EngineHost } from '../host/engine-host.js';
import { run as runCall } from '../host/dispatch.js';
import { answer, installProcessGuards } from '../host/protocol.js';
import { IPC, type PickKind } from '../engine/api.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const RENDERER = path.resolve(here, '..', 'renderer', 'index.html');
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

async function run(): Promise<void> {
  installProcessGuards('electron');
  const { app, BrowserWindow, ipcMain, dialog, session } = await import('electron');
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return;
  }
  await app.whenReady();
  const host = await EngineHost.create({ dataDir: process.env.INTEGRITY_STUDIO_DATA_DIR || app.getPath('userData'), transport: 'electron' });
  session.defaultSession.setPermissionRequestHandler((_wc, _p, cb) => cb(false));
  session.defaultSession.webRequest.onHeadersReceived((d, cb) => cb({ responseHeaders: { ...(d.responseHeaders ?? {}), 'Content-Security-Policy': [CSP] } }));
  app.on('web-contents-created', (_e, wc) => {
    wc.on('will-navigate', (e) => e.preventDefault());
    wc.setWindowOpenHandler(() => ({ action: 'deny' }));
  });
  const win = new BrowserWindow({
    width: 1200,
    height: 850,
    title: 'Integrity Studio',
    webPreferences: { contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true, preload: path.join(here, 'preload.cjs') },
  });
  const expected = new URL(`file://${RENDERER}`).href;
  const fromOurPage = (e: { senderFrame: { url: string } | null }) => !!e.senderFrame && e.senderFrame.url.split(/[?#]/)[0] === expected;
  ipcMain.handle(IPC.invoke, async (e, cmd: unknown, args: unknown) => {
    if (!fromOurPage(e)) throw new Error('refused: IPC from an unexpected page');
    const r = await answer('electron', 0, cmd, args, (c) => runCall(host, c));
    return r.ok ? { ok: true, result: r.result } : { ok: false, error: r.error, ...(r.code ? { code: r.code } : {}) };
  });
  ipcMain.handle(IPC.dialog, async (e, kind: unknown) => {
    if (!fromOurPage(e)) throw new Error('refused: IPC from an unexpected page');
    const kinds: readonly PickKind[] = ['open', 'save', 'key', 'export-json', 'export-csv'];
    if (!kinds.includes(kind as PickKind)) return null;
    const images = [
      { name: 'Disk images', extensions: ['img', 'raw', 'bin'] },
      { name: 'All files', extensions: ['*'] },
    ];
    if (kind === 'key') {
      // the key file is read by the host (unlockVolume { file }); only its path goes back to the page
      const r = await dialog.showOpenDialog(win, {
        title: 'Choose a key file',
        properties: ['openFile', 'showHiddenFiles'],
        filters: [
          { name: 'Key files', extensions: ['key', 'bin'] },
          { name: 'All files', extensions: ['*'] },
        ],
      });
      return r.canceled ? null : (r.filePaths[0] ?? null);
    }
    if (kind === 'open') {
      const r = await dialog.showOpenDialog(win, { title: 'Choose an image or device', properties: ['openFile', 'showHiddenFiles'], filters: images });
      return r.canceled ? null : (r.filePaths[0] ?? null);
    }
    if (kind === 'export-json' || kind === 'export-csv') {
      const ext = kind === 'export-json' ? 'json' : 'csv';
      const r = await dialog.showSaveDialog(win, { title: 'Export the known damage', filters: [{ name: ext.toUpperCase(), extensions: [ext] }] });
      return r.canceled ? null : (r.filePath ?? null);
    }
    const r = await dialog.showSaveDialog(win, { title: 'New image file', filters: images });
    return r.canceled ? null : (r.filePath ?? null);
  });
  const off = host.onEvent((ev) => {
    if (!win.webContents.isDestroyed()) win.webContents.send(IPC.event, ev);
  });
  win.on('closed', off);
  app.on('window-all-closed', () => {
    void host.close().then(
      () => app.quit(),
      () => app.quit(),
    );
  });
  await win.loadFile(RENDERER);
}

run().catch((e: Error) => {
  process.stderr.write(`integrity-studio: ${e.message}\n`);
  process.exit(1);
});
