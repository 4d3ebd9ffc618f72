// The few Electron APIs main.ts and preload.cts use. Electron is an optionalDependency that cannot be installed on
// the build machines (its binary download is impossible), so this keeps electron/ type-checked without it.
declare module 'electron' {
  interface WebContents {
    send(channel: string, ...args: unknown[]): void;
    on(event: 'will-navigate', l: (e: { preventDefault(): void }, url: string) => void): void;
    setWindowOpenHandler(h: (d: { url: string }) => { action: 'deny' | 'allow' }): void;
    isDestroyed(): boolean;
  }
  interface IpcMainInvokeEvent { senderFrame: { url: string } | null; sender: WebContents }
  export class BrowserWindow {
    constructor(o: Record<string, unknown>);
    webContents: WebContents;
    loadFile(p: string): Promise<void>;
    on(event: 'closed', l: () => void): void;
  }
  export const app: {
    whenReady(): Promise<void>;
    getPath(name: 'userData'): string;
    on(event: 'window-all-closed' | 'before-quit', l: () => void): void;
    on(event: 'web-contents-created', l: (e: unknown, wc: WebContents) => void): void;
    quit(): void;
    requestSingleInstanceLock(): boolean;
  };
  export const ipcMain: { handle(channel: string, h: (e: IpcMainInvokeEvent, ...args: unknown[]) => unknown): void };
  export const dialog: {
    showOpenDialog(w: BrowserWindow, o: Record<string, unknown>): Promise<{ canceled: boolean; filePaths: string[] }>;
    showSaveDialog(w: BrowserWindow, o: Record<string, unknown>): Promise<{ canceled: boolean; filePath?: string }>;
  };
  export const session: { defaultSession: { webRequest: { onHeadersReceived(h: (d: { responseHeaders?: Record<string, string[]> }, cb: (r: { responseHeaders: Record<string, string[]> }) => void) => void) }; setPermissionRequestHandler(h: (wc: unknown, p: string, cb: (ok: boolean) => void) => void): void } };
  export const contextBridge: { exposeInMainWorld(key: string, api: unknown): void };
  export const ipcRenderer: {
    invoke(channel: string, ...args: unknown[]): Promise<unknown>;
    on(channel: string, l: (e: unknown, ...args: unknown[]) => void): void;
    removeListener(channel: string, l: (e: unknown, ...args: unknown[]) => void): void;
  };
}
