// Preload (sandboxed, CommonJS): exposes the contract's Transport (engine/api.ts) as window.integrity — one generic
// invoke, the event stream and the dialogs — so no command name is copied here. A sandboxed preload can require only
// 'electron': the channel names are a copy of engine/api.ts IPC, checked equal to it by electron/electron.test.ts.
import { contextBridge, ipcRenderer } from 'electron';

const IPC = { invoke: 'integrity:invoke', event: 'integrity:event', dialog: 'integrity:dialog' } as const;

contextBridge.exposeInMainWorld('integrity', {
  async invoke(cmd: string, args: unknown[]) {
    const r = (await ipcRenderer.invoke(IPC.invoke, cmd, args)) as { ok: boolean; result?: unknown; error?: string; code?: string };
    if (!r.ok) throw Object.assign(new Error(r.error), r.code ? { code: r.code } : {});
    return r.result;
  },
  onEvent(listener: (e: unknown) => void) {
    const h = (_e: unknown, ev: unknown) => listener(ev);
    ipcRenderer.on(IPC.event, h);
    return () => {
      ipcRenderer.removeListener(IPC.event, h);
    };
  },
  pickPath(kind: string) {
    return ipcRenderer.invoke(IPC.dialog, kind);
  },
});
