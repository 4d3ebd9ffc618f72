// Picks the transport: Electron's preload bridge (window.integrity) when present, else the WebSocket of
// `integrity-studio serve` (same origin, token from the page's URL).
import type { CommandName, IntegrityApi, IntegrityEvent } from '../../engine/api.js';

declare global {
  interface Window { integrity?: IntegrityApi }
}

export function wsBridge(url: string, onConnection: (up: boolean) => void): IntegrityApi {
  const listeners = new Set<(e: IntegrityEvent) => void>();
  const waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let next = 1;
  let ws: WebSocket;
  let ready: Promise<void>;
  const connect = () => {
    ws = new WebSocket(url);
    ready = new Promise((resolve, reject) => {
      ws.onopen = () => { onConnection(true); resolve(); };
      ws.onerror = () => reject(new Error('cannot reach the Integrity Studio server'));
    });
    ready.catch(() => undefined);
    ws.onclose = () => {
      onConnection(false);
      for (const w of waiting.values()) w.reject(new Error('connection to the server lost'));
      waiting.clear();
      setTimeout(connect, 1000);
    };
    ws.onmessage = (m) => {
      const f = JSON.parse(String(m.data)) as { event?: IntegrityEvent; id?: number; ok?: boolean; result?: unknown; error?: string };
      if (f.event) { for (const l of listeners) l(f.event); return; }
      const w = waiting.get(f.id ?? -1);
      if (!w) return;
      waiting.delete(f.id!);
      if (f.ok) w.resolve(f.result); else w.reject(new Error(f.error ?? 'failed'));
    };
  };
  connect();
  const call = async (cmd: CommandName, ...args: unknown[]) => {
    await ready;
    const id = next++;
    return new Promise<unknown>((resolve, reject) => {
      waiting.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, cmd, args }));
    });
  };
  const api = {
    onEvent(l: (e: IntegrityEvent) => void) { listeners.add(l); return () => { listeners.delete(l); }; },
  } as Record<string, unknown>;
  for (const c of ['status', 'listVolumes', 'addVolume', 'createVolume', 'removeVolume', 'startRecalc', 'pauseRecalc', 'resumeRecalc', 'resetRecalc', 'startScrub', 'pauseScrub', 'resumeScrub'] as CommandName[]) {
    api[c] = (...a: unknown[]) => call(c, ...a);
  }
  return api as unknown as IntegrityApi;
}

export function pickBridge(onConnection: (up: boolean) => void): IntegrityApi {
  if (window.integrity) { onConnection(true); return window.integrity; }
  const token = new URLSearchParams(location.search).get('token') ?? '';
  return wsBridge(`ws://${location.host}/ws?token=${encodeURIComponent(token)}`, onConnection);
}
