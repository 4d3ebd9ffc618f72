// `integrity-studio serve [--port N] [--data-dir D] [IMAGE ...]`: the EngineHost and the IntegrityApi over a
// WebSocket on 127.0.0.1 with a random token, plus the built dashboard (dist/renderer). Every API request and
// WebSocket upgrade must carry the token (?token=… or Authorization: Bearer …); the static assets carry no data.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type WebSocket } from 'ws';
import { once } from 'node:events';
import { EngineHost } from './engine-host.js';
import { exportChunks } from './damage-list.js';
import { run } from './dispatch.js';
import { answer, errorMessage, installProcessGuards, LIMITS, logInternal, parseBody, parseFrame, readBody } from './protocol.js';
import type { IntegrityEvent } from '../engine/api.js';
import type { PausedJob } from './engine-host.js';
import { IntegrityStudioError } from '../engine/errors.js';
import type { LiveBackend } from '../engine/live/service.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const RENDERER_DIR = path.join(ROOT, 'dist', 'renderer');
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.ico': 'image/x-icon',
};
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self' ws://127.0.0.1:*; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

export function defaultDataDir(): string {
  const base = process.env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share');
  return path.join(base, 'integrity-studio');
}

export interface ServeOptions {
  /** the port; default: the one kept in the data dir from the last run, else any free one */
  port?: number;
  dataDir?: string;
  images?: string[];
  /** the token; default: the one kept in the data dir from the last run, else a new random one */
  token?: string;
  /** a new token even when one is kept (open tabs must then be reopened) */
  newToken?: boolean;
  rendererDir?: string;
  throttleMs?: number;
  pollMs?: number;
  /** the kernel's devices through this backend (tests: a fake); default: chosen from liveAvailability() */
  liveBackend?: LiveBackend;
}
export interface Server {
  url: string;
  port: number;
  token: string;
  host: EngineHost;
  close(): Promise<PausedJob[]>;
}

/** Where serve keeps its port and token between runs (mode 0600: the token opens the dashboard). */
export function serveStateFile(dataDir: string): string {
  return path.join(dataDir, 'serve.json');
}

function readServeState(dataDir: string | undefined): { port?: number; token?: string } {
  if (!dataDir) return {};
  try {
    const j = JSON.parse(fs.readFileSync(serveStateFile(dataDir), 'utf8')) as { port?: unknown; token?: unknown };
    return {
      port: Number.isInteger(j.port) && (j.port as number) > 0 && (j.port as number) < 65536 ? (j.port as number) : undefined,
      token: typeof j.token === 'string' && /^[\w-]{16,}$/.test(j.token) ? j.token : undefined,
    };
  } catch {
    return {};
  }
}

function writeServeState(dataDir: string, port: number, token: string): void {
  fs.mkdirSync(dataDir, { recursive: true });
  const f = serveStateFile(dataDir);
  const tmp = `${f}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ port, token }) + '\n', { mode: 0o600 });
  fs.chmodSync(tmp, 0o600);
  fs.renameSync(tmp, f);
}

function tokenOk(req: http.IncomingMessage, token: string): boolean {
  let u: URL;
  try {
    u = new URL(req.url ?? '/', 'http://127.0.0.1');
  } catch {
    return false;
  }
  const given = u.searchParams.get('token') ?? (req.headers.authorization?.startsWith('Bearer ') ? req.headers.authorization.slice(7) : '');
  const a = Buffer.from(given),
    b = Buffer.from(token);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

export async function startServer(o: ServeOptions = {}): Promise<Server> {
  const kept = readServeState(o.dataDir);
  const token = o.token ?? ((!o.newToken && kept.token) || crypto.randomBytes(24).toString('base64url'));
  const wantPort = o.port ?? kept.port ?? 0;
  const host = await EngineHost.create({
    dataDir: o.dataDir,
    transport: 'websocket',
    throttleMs: o.throttleMs,
    pollMs: o.pollMs,
    ...(o.liveBackend ? { liveBackend: o.liveBackend } : {}),
  });
  for (const img of o.images ?? []) {
    const p = path.resolve(img);
    if (!host.listVolumes().some((v) => v.path === p)) await host.addVolume({ path: p }); // a LUKS2 image is added locked
  }
  const rendererDir = o.rendererDir ?? RENDERER_DIR;
  const server = http.createServer((req, res) => {
    void handle(req, res).catch((e: unknown) => {
      try {
        if (!res.headersSent) res.writeHead(e instanceof IntegrityStudioError ? 400 : 500, { 'content-type': 'text/plain' });
        res.end(
          `${errorMessage(
            'serve',
            `${req.method} ${String(req.url)
              .slice(0, 64)
              .replace(/token=[^&]*/, 'token=…')}`,
            null,
            e,
          )}\n`,
        );
      } catch (err) {
        logInternal('serve', 'an HTTP reply', null, err);
      }
    });
  });
  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    const headers = { 'content-security-policy': CSP, 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'cache-control': 'no-store' };
    if (u.pathname.startsWith('/api/')) {
      if (!tokenOk(req, token)) {
        res.writeHead(403, headers).end('forbidden: missing or wrong token\n');
        return;
      }
      if (req.method !== 'POST') {
        res.writeHead(405, headers).end('POST only\n');
        return;
      }
      const json = { ...headers, 'content-type': 'application/json' };
      let args: unknown;
      try {
        args = parseBody(await readBody(req));
      } catch (e) {
        res
          .writeHead((e as IntegrityStudioError).code === 'E2BIG' ? 413 : 400, { ...json, connection: 'close' })
          .end(JSON.stringify({ error: errorMessage('serve', 'an HTTP body', null, e) }));
        return;
      }
      const r = await answer('serve', 0, u.pathname.slice(5), args, (c) => run(host, c));
      if (r.ok) res.writeHead(200, json).end(JSON.stringify(r.result));
      else res.writeHead(400, json).end(JSON.stringify({ error: r.error, ...(r.code ? { code: r.code } : {}) }));
      return;
    }
    // an export of known damage, streamed in chunks of rows from the damage logs (a million ranges never in memory at once)
    const exp = /^\/export\/([\w-]{1,64})\.(json|csv)$/.exec(u.pathname);
    if (exp) {
      if (!tokenOk(req, token)) {
        res.writeHead(403, headers).end('forbidden: missing or wrong token\n');
        return;
      }
      let e: ReturnType<EngineHost['entry']>;
      try {
        e = host.entry(exp[1]!);
      } catch (err) {
        res.writeHead(404, { ...headers, 'content-type': 'text/plain' }).end(`${(err as Error).message}\n`);
        return;
      }
      const format = exp[2] as 'json' | 'csv';
      const name = `${e.name.replace(/[^\w.-]+/g, '_')}-integrity-errors.${format}`;
      res.writeHead(200, {
        ...headers,
        'content-type': format === 'json' ? 'application/json' : 'text/csv',
        'content-disposition': `attachment; filename="${name}"`,
      });
      const it = exportChunks(e, format, host.mappingOf(e));
      for (;;) {
        const step = it.next();
        if (step.done) break;
        if (!res.write(step.value)) await once(res, 'drain');
      }
      res.end();
      return;
    }
    const isAsset = u.pathname !== '/' && u.pathname !== '/index.html';
    if (!isAsset && !tokenOk(req, token)) {
      res
        .writeHead(403, { ...headers, 'content-type': 'text/plain' })
        .end('forbidden: open the Dashboard URL printed by `integrity-studio serve` (it carries the token)\n');
      return;
    }
    let rel = '/index.html';
    try {
      if (isAsset) rel = decodeURIComponent(u.pathname);
    } catch {
      res.writeHead(400, { ...headers, 'content-type': 'text/plain' }).end('bad path\n');
      return;
    }
    const file = path.resolve(rendererDir, `.${rel}`);
    if (!file.startsWith(rendererDir + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res
        .writeHead(404, { ...headers, 'content-type': 'text/plain' })
        .end(rel === '/index.html' ? 'the dashboard is not built: run `npm run build`\n' : 'not found\n');
      return;
    }
    res.writeHead(200, { ...headers, 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  }

  // frames past hardFrameBytes are refused by ws itself (close 1009) before they are buffered; protocol.ts answers
  // the rest (LIMITS.frameBytes and under are parsed)
  const wss = new WebSocketServer({ noServer: true, maxPayload: LIMITS.hardFrameBytes });
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    try {
      if (!tokenOk(req, token)) {
        socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
        return;
      }
      if (wss.clients.size >= LIMITS.connections) {
        socket.end(`HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\n\r\ntoo many dashboards connected (${LIMITS.connections})\n`);
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    } catch (e) {
      logInternal('serve', 'a WebSocket upgrade', null, e);
      socket.destroy();
    }
  });
  let inFlight = 0;
  let connSeq = 0;
  // INTEGRITY_STUDIO_WS_TRACE=FILE: one line per frame and per close (for the host torture; no arguments, no keys)
  const traceFd = process.env.INTEGRITY_STUDIO_WS_TRACE ? fs.openSync(process.env.INTEGRITY_STUDIO_WS_TRACE, 'a') : null;
  const trace = (o: Record<string, unknown>) => {
    if (traceFd !== null) fs.writeSync(traceFd, `${JSON.stringify({ ms: Date.now(), ...o })}\n`);
  };
  wss.on('connection', (ws: WebSocket) => {
    const conn = ++connSeq;
    const send = (v: unknown) => {
      const id = (v as { id?: unknown }).id;
      if (ws.readyState !== ws.OPEN) {
        if (id !== undefined) trace({ conn, id, dropped: `readyState ${ws.readyState}` });
        return;
      }
      // a client that stops reading must not make this process buffer without bound
      if (ws.bufferedAmount > LIMITS.bufferedBytes) {
        trace({ conn, id, dropped: `buffered ${ws.bufferedAmount}` });
        ws.terminate();
        return;
      }
      try {
        ws.send(JSON.stringify(v));
        if (id !== undefined) trace({ conn, id, sent: (v as { ok?: boolean }).ok });
      } catch (e) {
        logInternal('serve', 'a WebSocket reply', null, e);
      }
    };
    const off = host.onEvent((event: IntegrityEvent) => send({ event }));
    let pending = 0;
    ws.on('close', (code, reason) => {
      off();
      trace({ conn, close: code, reason: String(reason), pending });
    });
    // invalid UTF-8, an oversized or malformed frame: ws closes the connection with the reason; without a listener
    // the 'error' event would be thrown and kill the process
    ws.on('error', () => undefined);
    ws.on('message', (data, isBinary) => {
      const f = parseFrame(data as Buffer, isBinary);
      trace({ conn, frame: f.id, pending });
      if ('error' in f) {
        send({ id: f.id, ok: false, error: f.error });
        return;
      }
      if (pending >= LIMITS.pendingPerConnection) {
        send({
          id: f.id,
          ok: false,
          error: `busy: ${pending} requests of this connection are still being handled (at most ${LIMITS.pendingPerConnection}); wait for their answers`,
        });
        return;
      }
      if (inFlight >= LIMITS.pendingTotal) {
        send({ id: f.id, ok: false, error: `busy: ${inFlight} requests are being handled (at most ${LIMITS.pendingTotal}); try again` });
        return;
      }
      pending++;
      inFlight++;
      // one command per turn of the event loop: a burst of (synchronous) commands cannot starve other clients,
      // new connections or job progress
      setImmediate(
        () =>
          void answer('serve', f.id, f.cmd, f.args, (c) => run(host, c)).then((r) => {
            pending--;
            inFlight--;
            send(r);
          }),
      );
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(wantPort, '127.0.0.1', resolve);
    });
  } catch (e) {
    await host.close();
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new IntegrityStudioError(
        `port ${wantPort}${o.port === undefined ? ' (kept from the last run)' : ''} is in use — is another serve running? Give --port 0 for any free port`,
        'EADDRINUSE',
      );
    }
    throw e;
  }
  const port = (server.address() as { port: number }).port;
  if (o.dataDir) writeServeState(o.dataDir, port, token);
  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
    host,
    async close() {
      const paused = await host.close();
      for (const c of wss.clients) c.terminate();
      wss.close();
      const closed = new Promise<void>((r) => server.close(() => r()));
      // keep-alive sockets (browsers, fetch) would hold close() open until they time out
      server.closeAllConnections();
      await closed;
      return paused;
    },
  };
}

/** what Ctrl-C paused, one line each */
export function pausedLines(paused: PausedJob[]): string {
  return paused
    .map(
      (p) =>
        `paused ${p.job === 'recalc' ? 'recalculation' : p.job} of ${p.name} (${p.path}) at ${((100 * p.position_sector) / Math.max(1, p.total_sectors)).toFixed(1)}% (sector ${p.position_sector} of ${p.total_sectors}); the position is saved: Resume it in the dashboard or run \`integrity-studio ${p.job} ${p.path}\`\n`,
    )
    .join('');
}

/** the CLI command */
export async function cmdServe(
  { values, positionals }: { values: { port?: unknown; 'data-dir'?: unknown; 'new-token'?: unknown }; positionals: string[] },
  io: { out(s: string): void; err(s: string): void },
): Promise<number> {
  const portText = typeof values.port === 'string' ? values.port : undefined;
  const port = portText === undefined ? undefined : Number(portText);
  if (portText !== undefined && (!/^\d+$/.test(portText) || port! > 65535)) {
    io.err(`integrity-studio: --port must be 0..65535, not "${portText}"\n`);
    return 2;
  }
  installProcessGuards('serve');
  const s = await startServer({
    port,
    newToken: !!values['new-token'],
    dataDir: typeof values['data-dir'] === 'string' ? values['data-dir'] : defaultDataDir(),
    images: positionals,
  });
  io.out(`Dashboard: ${s.url}\n`);
  await new Promise<void>((resolve) => {
    const stop = (sig: string) => {
      io.out(`${sig}: stopping; pausing running jobs at their next chunk boundary…\n`);
      // never let a stuck socket keep the process from exiting
      setTimeout(resolve, 10_000).unref();
      void s.close().then(
        (paused) => {
          io.out(paused.length ? pausedLines(paused) : 'no job was running.\n');
          resolve();
        },
        () => resolve(),
      );
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  // anything left holding the event loop (a socket, a worker) must not keep a stopped server alive
  setTimeout(() => process.exit(process.exitCode ?? 0), 500).unref();
  return 0;
}
