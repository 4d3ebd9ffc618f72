// Preload (sandboxed, CommonJS): exposes the IntegrityApi as window.integrity over two IPC channels, nothing else.
// A sandboxed preload can require only 'electron': the command names are a copy of engine/api.ts COMMAND_NAMES,
// checked equal to it by electron/preload.test.ts.
import { contextBridge, ipcRenderer } from 'electron';

type Listener = (e: unknown) => void;
const COMMANDS = [
  'status', 'listVolumes', 'addVolume', 'createVolume', 'removeVolume', 'updateVolume', 'unlockVolume', 'replayJournal',
  'startRecalc', 'pauseRecalc', 'resumeRecalc', 'resetRecalc', 'startScrub', 'pauseScrub', 'resumeScrub',
  'createLuksVolume',
  'resizeLimits', 'resizeVolume',
];
const api: Record<string, unknown> = {
  onEvent(l: Listener) {
    const h = (_e: unknown, ev: unknown) => l(ev);
    ipcRenderer.on('integrity:event', h);
    return () => ipcRenderer.removeListener('integrity:event', h);
  },
  pickPath(kind: 'open' | 'save' | 'key') {
    return ipcRenderer.invoke('integrity:dialog', kind);
  },
};
for (const c of COMMANDS) {
  api[c] = async (...args: unknown[]) => {
    const r = (await ipcRenderer.invoke('integrity:cmd', c, args)) as { ok: boolean; result?: unknown; error?: string; code?: string };
    if (!r.ok) throw Object.assign(new Error(r.error), r.code ? { code: r.code } : {});
    return r.result;
  };
}
contextBridge.exposeInMainWorld('integrity', api);
