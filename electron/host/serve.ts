// `integrity-studio serve [--port N] [--data-dir D] [IMAGE ...]`: the EngineHost and the IntegrityApi over a
// WebSocket on 127.0.0.1 with a random token, plus the built dashboard (dist/renderer). Every API request and
// WebSocket upgrade must carry the token (?token=… or Authorization: Bearer …); the static assets carry no data.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WebSocketServer, type WebSocket } from 'ws';
import { EngineHost } from './engine-host.js';
import { dispatch } from './dispatch.js';
import type { IntegrityEvent } from '../../engine/api.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const RENDERER_DIR = path.join(ROOT, 'dist', 'renderer');
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png', '.json': 'application/json', '.ico': 'image/x-icon' };
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self' ws://127.0.0.1:*; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

export function defaultDataDir(): string {
  const base = process.env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share');
  return path.join(base, 'integrity-studio');
}

export interface ServeOptions { port?: number; dataDir?: string; images?: string[]; token?: string; rendererDir?: string; throttleMs?: number }
export interface Server { url: string; port: number; token: string; host: EngineHost; close(): Promise<void> }

function tokenOk(req: http.IncomingMessage, token: string): boolean {
  const u = new URL(req.url ?? '/', 'http://127.0.0.1');
  const given = u.searchParams.get('token') ?? (req.headers.authorization?.startsWith('Bearer ') ? req.headers.authorization.slice(7) : '');
  const a = Buffer.from(given), b = Buffer.from(token);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

export async function startServer(o: ServeOptions = {}): Promise<Server> {
  const token = o.token ?? crypto.randomBytes(24).toString('base64url');
  const host = await EngineHost.create({ dataDir: o.dataDir, transport: 'websocket', throttleMs: o.throttleMs });
  for (const img of o.images ?? []) {
    const p = path.resolve(img);
    if (!host.listVolumes().some((v) => v.path === p)) host.addVolume({ path: p });
  }
  const rendererDir = o.rendererDir ?? RENDERER_DIR;
  const server = http.createServer((req, res) => {
    void handle(req, res).catch((e: Error) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`${e.message}\n`);
    });
  });
  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    const headers = { 'content-security-policy': CSP, 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'cache-control': 'no-store' };
    if (u.pathname.startsWith('/api/')) {
      if (!tokenOk(req, token)) { res.writeHead(403, headers).end('forbidden: missing or wrong token\n'); return; }
      if (req.method !== 'POST') { res.writeHead(405, headers).end('POST only\n'); return; }
      let body = '';
      for await (const c of req) { body += c; if (body.length > 1 << 20) { res.writeHead(413, headers).end('too large\n'); return; } }
      let args: unknown = [];
      try { args = body ? JSON.parse(body) : []; } catch { res.writeHead(400, headers).end('body is not JSON\n'); return; }
      try {
        const result = await dispatch(host, u.pathname.slice(5), args);
        res.writeHead(200, { ...headers, 'content-type': 'application/json' }).end(JSON.stringify(result ?? null));
      } catch (e) {
        res.writeHead(400, { ...headers, 'content-type': 'application/json' }).end(JSON.stringify({ error: (e as Error).message }));
      }
      return;
    }
    const isAsset = u.pathname !== '/' && u.pathname !== '/index.html';
    if (!isAsset && !tokenOk(req, token)) { res.writeHead(403, { ...headers, 'content-type': 'text/plain' }).end('forbidden: open the Dashboard URL printed by `integrity-studio serve` (it carries the token)\n'); return; }
    const rel = isAsset ? decodeURIComponent(u.pathname) : '/index.html';
    const file = path.resolve(rendererDir, `.${rel}`);
    if (!file.startsWith(rendererDir + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404, { ...headers, 'content-type': 'text/plain' }).end(rel === '/index.html' ? 'the dashboard is not built: run `npm run build`\n' : 'not found\n');
      return;
    }
    res.writeHead(200, { ...headers, 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  }

  const wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20 });
  server.on('upgrade', (req, socket, head) => {
    if (!tokenOk(req, token)) { socket.end('HTTP/1.1 403 Forbidden\r\n\r\n'); return; }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  wss.on('connection', (ws: WebSocket) => {
    const off = host.onEvent((event: IntegrityEvent) => { if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ event })); });
    ws.on('close', off);
    ws.on('message', (data) => {
      let frame: { id?: unknown; cmd?: unknown; args?: unknown };
      try { frame = JSON.parse(String(data)) as typeof frame; } catch { return; }
      const id = typeof frame.id === 'number' ? frame.id : -1;
      dispatch(host, frame.cmd, frame.args).then(
        (result) => ws.send(JSON.stringify({ id, ok: true, result: result ?? null })),
        (e: Error) => ws.send(JSON.stringify({ id, ok: false, error: e.message })),
      );
    });
  });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(o.port ?? 0, '127.0.0.1', resolve); });
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/?token=${token}`, port, token, host,
    async close() {
      await host.close();
      for (const c of wss.clients) c.terminate();
      wss.close();
      const closed = new Promise<void>((r) => server.close(() => r()));
      // keep-alive sockets (browsers, fetch) would hold close() open until they time out
      server.closeAllConnections();
      await closed;
    },
  };
}

/** the CLI command */
export async function cmdServe(args: string[], io: { out(s: string): void; err(s: string): void }): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { port: { type: 'string' }, 'data-dir': { type: 'string' } } });
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) { io.err(`integrity-studio: --port must be 0..65535, not "${values.port}"\n`); return 2; }
  const s = await startServer({ port, dataDir: values['data-dir'] ?? defaultDataDir(), images: positionals });
  io.out(`Dashboard: ${s.url}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      // jobs pause at their next chunk boundary; never let a stuck socket keep the process from exiting
      setTimeout(resolve, 10_000).unref();
      void s.close().then(resolve, resolve);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  // anything left holding the event loop (a socket, a worker) must not keep a stopped server alive
  setTimeout(() => process.exit(process.exitCode ?? 0), 500).unref();
  return 0;
}
