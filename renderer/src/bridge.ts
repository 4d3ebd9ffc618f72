// Picks the transport (engine/api.ts Transport): Electron's preload bridge (window.integrity) when present, else the
// WebSocket of `integrity-studio serve` (same origin, token from the page's URL). Both carry one generic invoke, so
// no command name is copied here. The WebSocket reconnects with backoff; when it is down, a probe of the HTTP API
// tells a stopped server (refused) from one restarted with another token (403).
import type { CommandArgs, CommandName, CommandResult, IntegrityEvent, Transport } from '../../engine/api.js';
import type { Connection } from './store.js';

declare global {
  interface Window {
    integrity?: Transport;
  }
}

export const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000] as const;
export const backoff = (attempt: number) => BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)]!;

export type ConnectionListener = (c: Pick<Connection, 'state' | 'problem' | 'reason' | 'retry_at'>) => void;

/** why the server cannot be used, from a probe of its HTTP API with this page's token */
export async function probe(origin: string, token: string): Promise<{ problem: Connection['problem']; reason: string }> {
  const where = origin.replace(/^https?:\/\//, '');
  try {
    const r = await fetch(`${origin}/api/status?token=${encodeURIComponent(token)}`, { method: 'POST', cache: 'no-store' });
    if (r.status === 403) {
      return {
        problem: 'forbidden',
        reason: `The server at ${where} refused this page's token: it was restarted with a new token. Open the "Dashboard:" address that \`integrity-studio serve\` printed.`,
      };
    }
    return { problem: 'closed', reason: `The connection to the server at ${where} was lost; reconnecting.` };
  } catch {
    return {
      problem: 'refused',
      reason: `Nothing answers at ${where}: the server stopped, or it was restarted on another port. Start \`integrity-studio serve\` again, or open the "Dashboard:" address it printed.`,
    };
  }
}

export interface WsBridge extends Transport {
  reconnectNow(): void /** the serve origin and token (downloads of exports) */;
  readonly origin: string;
  readonly token: string;
}

export function wsBridge(origin: string, token: string, onConnection: ConnectionListener): WsBridge {
  const url = `${origin.replace(/^http/, 'ws')}/ws?token=${encodeURIComponent(token)}`;
  const listeners = new Set<(e: IntegrityEvent) => void>();
  const waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let next = 1;
  let ws: WebSocket | null = null;
  let open = false;
  let attempt = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let lastReason = 'Connecting to the server…';
  const connect = () => {
    timer = null;
    const sock = new WebSocket(url);
    ws = sock;
    sock.onopen = () => {
      open = true;
      attempt = 0;
      onConnection({ state: 'connected', problem: 'none', reason: null, retry_at: null });
    };
    sock.onclose = () => {
      if (ws !== sock) return;
      const wasOpen = open;
      open = false;
      for (const w of waiting.values()) w.reject(new Error('the connection to the server was lost before it answered'));
      waiting.clear();
      const delay = backoff(attempt++);
      if (wasOpen)
        onConnection({
          state: 'disconnected',
          problem: 'closed',
          reason: 'The connection to the server was lost; reconnecting.',
          retry_at: Date.now() + delay,
        });
      void probe(origin, token).then((p) => {
        if (ws !== sock || open) return;
        lastReason = p.reason;
        onConnection({ state: 'disconnected', problem: p.problem, reason: p.reason, retry_at: Date.now() + delay });
      });
      timer = setTimeout(connect, delay);
    };
    sock.onmessage = (m) => {
      const f = JSON.parse(String(m.data)) as { event?: IntegrityEvent; id?: number; ok?: boolean; result?: unknown; error?: string; code?: string };
      if (f.event) {
        for (const l of listeners) l(f.event);
        return;
      }
      const w = waiting.get(f.id ?? -1);
      if (!w) return;
      waiting.delete(f.id!);
      if (f.ok) w.resolve(f.result);
      else w.reject(Object.assign(new Error(f.error ?? 'failed'), f.code ? { code: f.code } : {}));
    };
  };
  connect();
  return {
    origin,
    token,
    invoke<C extends CommandName>(cmd: C, args: CommandArgs<C>): Promise<CommandResult<C>> {
      return new Promise<CommandResult<C>>((resolve, reject) => {
        if (!ws || !open) {
          reject(new Error(`Not connected to the server: ${lastReason}`));
          return;
        }
        const id = next++;
        // the host answers with this command's result (host/dispatch.ts is typed by the same contract)
        waiting.set(id, { resolve: (v) => resolve(v as CommandResult<C>), reject });
        ws.send(JSON.stringify({ id, cmd, args }));
      });
    },
    onEvent(l: (e: IntegrityEvent) => void) {
      listeners.add(l);
      return () => {
        listeners.delete(l);
      };
    },
    reconnectNow() {
      if (open) return;
      if (timer) clearTimeout(timer);
      attempt = 0;
      connect();
    },
  };
}

export function pickBridge(onConnection: ConnectionListener): Transport & Partial<Pick<WsBridge, 'reconnectNow' | 'origin' | 'token'>> {
  if (window.integrity) {
    onConnection({ state: 'connected', problem: 'none', reason: null, retry_at: null });
    return window.integrity;
  }
  const token = new URLSearchParams(location.search).get('token') ?? '';
  return wsBridge(location.origin, token, onConnection);
}
