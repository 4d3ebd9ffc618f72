// Fuzz of the host's command surface: seeded frames sent over many WebSocket connections at once to a real
// `integrity-studio serve` (a child process): random JSON values in every position of { id, cmd, args }, wrong
// types, huge strings and numbers, prototype keys (__proto__, constructor), binary frames, truncated JSON, invalid
// UTF-8, oversized frames and floods past the per-connection cap. Every frame must get exactly one answer (or,
// for invalid UTF-8 and frames past the hard size limit, the connection closed with the reason); the process must
// stay up. Used by host/fuzz.test.ts (a few hundred frames) and `npm run torture` (100,000).
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { COMMAND_NAMES } from '../../engine/api.js';
import { prng } from '../../engine/io/fault.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export interface Serve {
  url: string;
  port: number;
  token: string;
  child: ChildProcess;
  /** stderr so far (internal errors are logged there) */
  stderr(): string;
  exited(): { code: number | null; signal: string | null } | null;
  stop(): Promise<string>;
}

/** Starts `bin/integrity-studio.js serve` in `cwd` and resolves once it prints its Dashboard URL. */
export function startServe(dataDir: string, images: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Serve> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'integrity-studio.js'), 'serve', '--port', '0', '--data-dir', dataDir, ...images], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let exit: { code: number | null; signal: string | null } | null = null;
  child.stderr!.on('data', (d) => {
    err += d;
  });
  child.on('exit', (code, signal) => {
    exit = { code, signal };
  });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`serve did not start in 20 s: ${out}${err}`)), 20_000);
    child.on('exit', () => {
      clearTimeout(t);
      reject(new Error(`serve exited before starting: ${out}${err}`));
    });
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /Dashboard: http:\/\/127\.0\.0\.1:(\d+)\/\?token=([\w-]+)/.exec(out);
      if (!m) return;
      clearTimeout(t);
      const port = Number(m[1]);
      resolve({
        url: `ws://127.0.0.1:${port}/ws?token=${m[2]}`,
        port,
        token: m[2]!,
        child,
        stderr: () => err,
        exited: () => exit,
        stop: () =>
          new Promise((r) => {
            if (exit) {
              r(out);
              return;
            }
            child.once('exit', () => r(out));
            child.kill('SIGINT');
          }),
      });
    });
  });
}

export interface Reply {
  id?: number;
  ok?: boolean;
  result?: unknown;
  error?: string;
  event?: unknown;
}

/** One request over a fresh connection (for checks around the fuzz). */
export async function call(url: string, cmd: string, ...args: unknown[]): Promise<Reply> {
  const ws = new WebSocket(url);
  try {
    await new Promise<void>((res, rej) => {
      ws.once('open', () => res());
      ws.once('error', rej);
    });
    return await new Promise<Reply>((res, rej) => {
      const t = setTimeout(() => rej(new Error(`no answer to ${cmd} in 10 s`)), 10_000);
      ws.on('message', (d) => {
        const f = JSON.parse(String(d)) as Reply;
        if (f.id === 1) {
          clearTimeout(t);
          res(f);
        }
      });
      ws.send(JSON.stringify({ id: 1, cmd, args }));
    });
  } finally {
    ws.terminate();
  }
}

type Frame = { data: string | Buffer; binary: boolean; kind: string; closes?: boolean };

const SAFE_COMMANDS_WITH_REAL_ID = ['startScrub', 'resumeScrub', 'pauseScrub', 'startRecalc', 'resumeRecalc'];
const FIELDS = [
  'path',
  'size',
  'name',
  'integrity',
  'integrityKey',
  'tagSize',
  'sectorSize',
  'journalSize',
  'interleaveSectors',
  'mode',
  'dataDevice',
  'noWipe',
  'force',
  'journalIntegrity',
  'journalCryptKey',
  'bitmapSectorsPerBit',
];

export class FrameGen {
  private readonly r: () => number;
  constructor(
    seed: number,
    private readonly realId: string | null,
  ) {
    this.r = prng(seed);
  }
  private int(n: number): number {
    return Math.floor(this.r() * n);
  }
  private pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
  /** a string with no '/' (fuzzed paths stay in serve's working folder) */
  str(max = 40): string {
    const alphabet = 'abcxyz019._- ~%$\\"\'\u00e9\u4e2d\u0000\n{}[]:,';
    const n = this.int(max);
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[this.int(alphabet.length)];
    return s;
  }
  num(): number {
    return this.pick([0, -0, 1, -1, 2 ** 31, 2 ** 53, 2 ** 53 + 2, 1e30, -1e30, 1.5, 511, 512, 4096, Number.MAX_VALUE, Number.MIN_VALUE, this.int(1e9)]);
  }
  value(depth = 3): unknown {
    const k = this.int(depth > 0 ? 10 : 6);
    switch (k) {
      case 0:
        return null;
      case 1:
        return this.r() < 0.5;
      case 2:
        return this.num();
      case 3:
        return this.str();
      case 4:
        return this.pick(['', 'x'.repeat(5000), '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'status', 'é'.repeat(3000)]);
      case 5:
        return this.pick(COMMAND_NAMES);
      case 6:
      case 7:
        return Array.from({ length: this.int(5) }, () => this.value(depth - 1));
      default: {
        const o: Record<string, unknown> = {};
        for (let i = this.int(5); i > 0; i--) o[this.r() < 0.5 ? this.pick(FIELDS) : this.str(12)] = this.value(depth - 1);
        return o;
      }
    }
  }
  /** a field value of the wrong kind, or an edge of the right kind */
  fieldValue(): unknown {
    return this.pick([
      () => this.value(2),
      () => this.num(),
      () => this.str(),
      () => ({ hex: this.str() }),
      () => ({ file: this.str() }),
      () => ({ hex: 'ab', file: 'x' }),
      () => ['a'],
      () => 'x'.repeat(4097),
      () => ({ __proto__: { polluted: true } }),
    ])();
  }
  /** ids the harness can match answers by: unique per generator, above every id the random values can make */
  private seq = 3_000_000_000;
  private uid(): number {
    this.r();
    return this.seq++;
  }
  private id(): unknown {
    return this.r() < 0.85 ? this.uid() : this.value(1);
  }
  private cmd(): unknown {
    return this.r() < 0.8 ? this.pick(COMMAND_NAMES) : this.value(1);
  }
  /** arguments for cmd: random, or nearly right with one field wrong */
  private args(cmd: unknown): unknown {
    const volId = () =>
      this.realId && typeof cmd === 'string' && SAFE_COMMANDS_WITH_REAL_ID.includes(cmd) && this.r() < 0.3
        ? this.realId
        : this.pick([this.str(36), 'no-such-volume', '', 'x'.repeat(65), this.value(1)]);
    switch (this.int(4)) {
      case 0:
        return this.value(2);
      case 1:
        return Array.from({ length: this.int(4) }, () => this.value(2));
      default: {
        const o: Record<string, unknown> = { path: this.str(30) || 'p', name: this.str(10) };
        for (let i = 1 + this.int(3); i > 0; i--) o[this.pick(FIELDS)] = this.fieldValue();
        // createVolume is always refused before anything is written (no volume made, no format run): a wrong size
        if (cmd === 'createVolume') o.size = this.pick([-1, 0, 1.5, 1e30, 2 ** 53, '1M', null, [], {}]) ?? 'x';
        if (cmd === 'addVolume' || cmd === 'createVolume') return [o];
        return this.r() < 0.5 ? [volId()] : [volId(), o];
      }
    }
  }
  next(): Frame {
    const k = this.int(100);
    if (k < 40) {
      const cmd = this.cmd();
      return { kind: 'envelope', binary: false, data: JSON.stringify({ id: this.id(), cmd, args: this.args(cmd) }) };
    }
    if (k < 55) return { kind: 'value', binary: false, data: JSON.stringify(this.value(4)) ?? 'null' };
    if (k < 64) {
      const cmd = this.cmd();
      const body = JSON.stringify({ id: this.uid(), cmd, args: this.args(cmd) });
      return { kind: 'truncated', binary: false, data: body.slice(0, this.int(body.length)) };
    }
    if (k < 72) {
      const id = this.uid();
      const proto = this.pick([
        `{"id":${id},"cmd":"addVolume","args":[{"__proto__":{"path":"x"},"path":"a"}]}`,
        `{"id":${id},"cmd":"createVolume","args":[{"constructor":{"prototype":{"polluted":1}},"path":"a","size":-1}]}`,
        `{"__proto__":{"cmd":"status"},"id":${id}}`,
        `{"id":${id},"cmd":"__proto__","args":[]}`,
        `{"id":${id},"cmd":"constructor","args":[]}`,
        `{"id":${id},"cmd":"status","args":{"__proto__":[]}}`,
        `{"id":${id},"cmd":"toString","args":[]}`,
        `{"id":${id},"cmd":"updateVolume","args":["x",{"prototype":1}]}`,
      ]);
      return { kind: 'proto', binary: false, data: proto };
    }
    if (k < 80) return { kind: 'binary', binary: true, data: Buffer.from(Array.from({ length: this.int(200) }, () => this.int(256))) };
    if (k < 84) {
      const n = this.pick([5000, 70_000, 200_000]);
      return { kind: 'huge', binary: false, data: JSON.stringify({ id: this.uid(), cmd: 'addVolume', args: [{ path: 'p'.repeat(n) }] }) };
    }
    if (k < 86) return { kind: 'deep', binary: false, data: `${'['.repeat(20000)}${']'.repeat(20000)}` };
    if (k < 89) return { kind: 'numbers', binary: false, data: `{"id":1e400,"cmd":"status","args":[${'1e999,'.repeat(10)}1]}` };
    if (k < 90) return { kind: 'badutf8', binary: false, data: Buffer.from([0x7b, 0xff, 0xfe, 0xc0, 0x7d]), closes: true };
    if (k < 91) return { kind: 'oversize', binary: false, data: `{"id":1,"cmd":"status","args":["${'x'.repeat((1 << 20) + 100)}"]}`, closes: true };
    // a valid request: status and listVolumes answer ok (the server still does its work between the junk)
    return { kind: 'valid', binary: false, data: JSON.stringify({ id: this.uid(), cmd: this.pick(['status', 'listVolumes']), args: [] }) };
  }
}

/** mirrors host/protocol.ts LIMITS.frameBytes (engine/ does not import the host) */
const FRAME_BYTES = 64 * 1024;

/** The id the server answers a frame with (protocol.ts parseFrame): the envelope's id when readable, else -1. */
export function expectedAnswerId(f: Frame): number {
  if (f.binary) return -1;
  const text = typeof f.data === 'string' ? f.data : f.data.toString('utf8');
  if (Buffer.byteLength(text) > FRAME_BYTES) return -1;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return -1;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return -1;
  const id = (v as { id?: unknown }).id;
  return typeof id === 'number' && Number.isSafeInteger(id) && id >= 0 ? id : -1;
}

/** one frame's life, for the trace and for naming what went wrong */
export interface FrameTrace {
  conn: number;
  /** index of the frame on its connection */
  n: number;
  kind: string;
  /** the id the answer must carry (-1: an unreadable envelope) */
  id: number;
  cmd: string;
  sentMs: number;
  answeredMs?: number;
  ok?: boolean;
  error?: string;
}

export interface HostFuzzResult {
  framesSent: number;
  answered: number;
  errorsAnswered: number;
  okAnswered: number;
  /** connections the server closed as it should (invalid UTF-8: 1007; past the hard frame limit: 1009) */
  closedAsExpected: number;
  /** frames with no answer (must be 0) */
  unanswered: number;
  /** connections closed without a frame that should close them, or not closed after one (must be 0) */
  unexpectedCloses: number;
  /** answers whose id matched no frame waiting on that connection (a second answer, or a wrong id; must be 0) */
  strayAnswers: number;
  /** answers that took longer than 15 s (the old harness gave up there); counted, not failures */
  slowAnswers: number;
  maxLatencyMs: number;
  connections: number;
  byKind: Record<string, number>;
  /** close codes seen by the client, with counts ("1007 invalid UTF-8…") */
  closes: Record<string, number>;
  /** the distinct error lines (first 200 characters), with counts */
  errors: Map<string, number>;
  /** what went wrong, one line each (unanswered frames with their connection's close; stray answers; odd closes) */
  problems: string[];
}

export function emptyResult(): HostFuzzResult {
  return {
    framesSent: 0,
    answered: 0,
    errorsAnswered: 0,
    okAnswered: 0,
    closedAsExpected: 0,
    unanswered: 0,
    unexpectedCloses: 0,
    strayAnswers: 0,
    slowAnswers: 0,
    maxLatencyMs: 0,
    connections: 0,
    byKind: {},
    closes: {},
    errors: new Map(),
    problems: [],
  };
}

export function addResult(total: HostFuzzResult, r: HostFuzzResult): void {
  for (const k of [
    'framesSent',
    'answered',
    'errorsAnswered',
    'okAnswered',
    'closedAsExpected',
    'unanswered',
    'unexpectedCloses',
    'strayAnswers',
    'slowAnswers',
    'connections',
  ] as const)
    total[k] += r[k];
  total.maxLatencyMs = Math.max(total.maxLatencyMs, r.maxLatencyMs);
  for (const [k, n] of Object.entries(r.byKind)) total.byKind[k] = (total.byKind[k] ?? 0) + n;
  for (const [k, n] of Object.entries(r.closes)) total.closes[k] = (total.closes[k] ?? 0) + n;
  for (const [k, n] of r.errors) total.errors.set(k, (total.errors.get(k) ?? 0) + n);
  total.problems.push(...r.problems);
}

const SLOW_MS = 15_000;

/**
 * Sends `frames` frames from `parallel` connections at once; each connection pipelines bursts of up to `burst`
 * frames (past the per-connection cap, so some are answered "busy") and waits for their answers. Answers are matched
 * to frames by id (each frame the harness can give an id gets a unique one; frames the server cannot read an id from
 * are answered with id -1 and matched in order). A frame counts as unanswered only when its connection closed
 * without its answer or no answer at all came for `stallMs` (default 120 s); answers slower than 15 s are counted
 * as slow. `trace` receives every frame's life (sent, answered, close) when given.
 */
export async function fuzzHost(
  url: string,
  o: {
    seed: number;
    frames: number;
    parallel?: number;
    burst?: number;
    realId?: string | null;
    stallMs?: number;
    onProgress?: (sent: number) => void;
    trace?: (line: string) => void;
  },
): Promise<HostFuzzResult> {
  const res = emptyResult();
  const parallel = o.parallel ?? 8;
  const burst = o.burst ?? 48;
  const stallMs = o.stallMs ?? 120_000;
  const t0 = Date.now();
  let budget = o.frames;
  let connSeq = 0;
  const worker = async (w: number) => {
    const gen = new FrameGen(o.seed * 1000 + w, o.realId ?? null);
    while (budget > 0) {
      const conn = ++connSeq;
      const ws = new WebSocket(url, { maxPayload: 64 << 20 });
      res.connections++;
      await new Promise<void>((r, j) => {
        ws.once('open', () => r());
        ws.once('error', j);
      });
      // frames waiting for their answer, by the id the answer carries (-1: in the order sent)
      const waiting = new Map<number, FrameTrace[]>();
      let outstanding = 0;
      let sentOnConn = 0;
      let closerSent: Frame | null = null;
      let close: { code: number; reason: string; ms: number } | null = null;
      let wake: (() => void) | null = null;
      let weClose = false;
      ws.on('message', (d) => {
        let f: Reply;
        try {
          f = JSON.parse(String(d)) as Reply;
        } catch {
          res.strayAnswers++;
          res.problems.push(`connection ${conn}: a message that is not JSON (${String(d).slice(0, 80)})`);
          return;
        }
        if ('event' in f) return;
        const now = Date.now() - t0;
        const list = waiting.get(typeof f.id === 'number' ? f.id : NaN);
        const fr = list?.shift();
        if (!fr) {
          res.strayAnswers++;
          res.problems.push(`connection ${conn}: an answer with id ${f.id} matches no frame waiting (${String(f.error ?? 'ok').slice(0, 100)})`);
          o.trace?.(JSON.stringify({ conn, stray: f.id, ms: now, error: f.error }));
          return;
        }
        if (list!.length === 0) waiting.delete(fr.id);
        outstanding--;
        res.answered++;
        fr.answeredMs = now;
        fr.ok = !!f.ok;
        const lat = now - fr.sentMs;
        res.maxLatencyMs = Math.max(res.maxLatencyMs, lat);
        if (lat > SLOW_MS) res.slowAnswers++;
        if (f.ok) res.okAnswered++;
        else {
          res.errorsAnswered++;
          fr.error = String(f.error).slice(0, 200);
          res.errors.set(fr.error, (res.errors.get(fr.error) ?? 0) + 1);
        }
        o.trace?.(JSON.stringify(fr));
        wake?.();
      });
      ws.on('error', () => undefined);
      ws.on('close', (code, reason) => {
        close = { code, reason: String(reason), ms: Date.now() - t0 };
        if (weClose) return;
        const key = `${code}${close.reason ? ` ${close.reason.slice(0, 60)}` : ''}`;
        res.closes[key] = (res.closes[key] ?? 0) + 1;
        o.trace?.(JSON.stringify({ conn, close: code, reason: close.reason, ms: close.ms, outstanding, closer: closerSent?.kind ?? null }));
        wake?.();
      });
      // until every frame sent is answered, the connection closes, or no answer came for stallMs
      const waitAnswers = async () => {
        while (outstanding > 0 && !close) {
          const before = res.answered;
          await new Promise<void>((r) => {
            const t = setTimeout(() => {
              wake = null;
              r();
            }, stallMs);
            wake = () => {
              clearTimeout(t);
              wake = null;
              r();
            };
          });
          if (res.answered === before && !close && outstanding > 0) {
            // a stall: no answer on any connection either? (then the server is stuck, not just busy elsewhere)
            return;
          }
        }
      };
      const unanswered = (why: string) => {
        for (const list of waiting.values()) {
          for (const fr of list) {
            res.unanswered++;
            res.problems.push(`connection ${conn} frame ${fr.n} (${fr.kind}, id ${fr.id}, ${fr.cmd}) sent at ${fr.sentMs} ms: no answer; ${why}`);
            o.trace?.(JSON.stringify({ ...fr, unanswered: why }));
          }
        }
        waiting.clear();
        outstanding = 0;
      };
      // bursts on this connection until a frame closes it or the budget is spent
      while (budget > 0 && !close && !closerSent) {
        const n = Math.min(burst, budget);
        for (let i = 0; i < n && !close; i++) {
          const f = gen.next();
          budget--;
          res.framesSent++;
          res.byKind[f.kind] = (res.byKind[f.kind] ?? 0) + 1;
          if (f.closes) {
            // the answers to the frames before it first: a closed connection cannot carry them
            await waitAnswers();
            closerSent = f;
            o.trace?.(JSON.stringify({ conn, n: sentOnConn++, kind: f.kind, closer: true, sentMs: Date.now() - t0 }));
            ws.send(f.data, { binary: f.binary });
            break;
          }
          const id = expectedAnswerId(f);
          const text = typeof f.data === 'string' ? f.data : '';
          const fr: FrameTrace = { conn, n: sentOnConn++, kind: f.kind, id, cmd: /"cmd":("[^"]{0,40}")/.exec(text)?.[1] ?? '?', sentMs: Date.now() - t0 };
          const list = waiting.get(id);
          if (list) list.push(fr);
          else waiting.set(id, [fr]);
          outstanding++;
          ws.send(f.data, { binary: f.binary });
        }
        o.onProgress?.(res.framesSent);
        if (closerSent) break;
        await waitAnswers();
        if (outstanding > 0 && !close) unanswered(`no answer on this connection for ${stallMs / 1000} s, connection still open`);
      }
      if (closerSent) {
        // wait for the server's close (1007 / 1009)
        await new Promise<void>((r) => {
          if (close) {
            r();
            return;
          }
          const t = setTimeout(r, 60_000);
          ws.once('close', () => {
            clearTimeout(t);
            r();
          });
        });
        const want = closerSent.kind === 'badutf8' ? 1007 : 1009;
        const c = close as { code: number; reason: string } | null;
        if (c && c.code === want) res.closedAsExpected++;
        else {
          res.unexpectedCloses++;
          res.problems.push(
            `connection ${conn}: after a ${closerSent.kind} frame the server ${c ? `closed with ${c.code} ${c.reason}` : 'did not close in 60 s'} (expected ${want})`,
          );
          if (!c) ws.terminate();
        }
        if (outstanding > 0) unanswered(`the connection closed (${c ? `${c.code} ${c.reason}` : 'terminated'}) after the ${closerSent.kind} frame`);
      } else {
        const c = close as { code: number; reason: string } | null;
        if (c) {
          res.unexpectedCloses++;
          res.problems.push(
            `connection ${conn}: closed by the server with ${c.code} "${c.reason}" after ${sentOnConn} frames, ${outstanding} unanswered, no frame that should close it`,
          );
          if (outstanding > 0) unanswered(`the connection closed (${c.code} "${c.reason}")`);
        }
        weClose = true;
        ws.close();
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, (_, w) => worker(w)));
  return res;
}

export function describeFuzz(r: HostFuzzResult): string {
  const kinds = Object.entries(r.byKind)
    .sort()
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  const closes = Object.entries(r.closes)
    .sort()
    .map(([k, n]) => `${k}: ${n}`)
    .join('; ');
  return `host fuzz: ${r.framesSent} frames sent over ${r.connections} connections (${kinds}); ${r.answered} answered (${r.errorsAnswered} errors, ${r.okAnswered} ok; ${r.slowAnswers} slower than 15 s, slowest ${(r.maxLatencyMs / 1000).toFixed(1)} s), ${r.closedAsExpected} connections closed by the server as expected (invalid UTF-8: 1007 / over 1 MiB: 1009), ${r.unanswered} unanswered, ${r.unexpectedCloses} unexpected closes, ${r.strayAnswers} stray answers; closes seen: ${closes || 'none'}${r.problems.length ? `\n  problems:\n    ${r.problems.slice(0, 50).join('\n    ')}` : ''}`;
}
