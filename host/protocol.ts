// The one parser and validator of everything that reaches the EngineHost from outside: WebSocket frames, HTTP
// /api/* bodies and Electron IPC calls. Each command's arguments have a schema here (one per COMMAND_NAMES entry,
// checked at load); a malformed input gets one error naming the problem and nothing else happens. Limits keep any
// input from growing memory without bound or holding the event loop: frame/body size, string length, nesting,
// requests in flight per connection. An unexpected exception in a handler is logged with key fields scrubbed and
// answered; it never escapes (answer() never rejects).
import { IntegrityStudioError } from '../engine/errors.js';
import { COMMANDS, type CommandArgs, type CommandName, type Field, type ResponseFrame } from '../engine/api.js';

export const LIMITS = {
  /** a WebSocket frame or HTTP body, in bytes: the largest real request (createVolume with three hex keys) is ~20 KB */
  frameBytes: 64 * 1024,
  /** frames larger than this are not even buffered: ws closes the connection (1009) */
  hardFrameBytes: 1 << 20,
  /** one string argument (paths, names, hex keys) */
  stringChars: 4096,
  /** requests of one connection being handled at once; more are answered "busy" at once */
  pendingPerConnection: 32,
  /** requests being handled at once over all connections */
  pendingTotal: 256,
  /** WebSocket connections at once */
  connections: 64,
  /** unsent bytes queued for one WebSocket client (a client that stops reading its events is disconnected) */
  bufferedBytes: 16 << 20,
} as const;

/** A request that passed validation: a known command and its checked arguments, typed by the contract. */
export type Call = { [C in CommandName]: { cmd: C; args: CommandArgs<C> } }[CommandName];

/** keys JSON.parse makes own properties but Object.assign / a naive merge would treat as the prototype */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

function fail(msg: string): never {
  throw new IntegrityStudioError(msg);
}

function typeName(v: unknown): string {
  return v === undefined
    ? 'nothing'
    : v === null
      ? 'null'
      : Array.isArray(v)
        ? 'an array'
        : typeof v === 'object'
          ? 'an object'
          : typeof v === 'string'
            ? 'a string'
            : `a ${typeof v}`;
}

function checkString(v: unknown, what: string, isPath = false): string {
  if (typeof v !== 'string') fail(`${what} must be a string, not ${typeName(v)}`);
  if (v.length > LIMITS.stringChars) fail(`${what} is too long (${v.length} characters; at most ${LIMITS.stringChars})`);
  if (v.includes('\0')) fail(`${what} must not contain a NUL character`);
  if (isPath && v === '') fail(`${what} must not be empty`);
  return v;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkKey(v: unknown, what: string): { hex: string } | { file: string } {
  if (!isPlainObject(v)) fail(`${what} must be { hex } or { file }, not ${typeName(v)}`);
  const keys = Object.keys(v);
  if (keys.length !== 1 || (keys[0] !== 'hex' && keys[0] !== 'file')) fail(`${what} must be { hex } or { file } (one of them)`);
  const k = keys[0] as 'hex' | 'file';
  // the value is never echoed: it may be a key
  const s = v[k];
  if (typeof s !== 'string') fail(`${what}.${k} must be a string, not ${typeName(s)}`);
  if (s.length > LIMITS.stringChars) fail(`${what}.${k} is too long (at most ${LIMITS.stringChars} characters)`);
  if (s.includes('\0')) fail(`${what}.${k} must not contain a NUL character`);
  if (k === 'hex' && !/^[0-9a-fA-F]*$/.test(s)) fail(`${what}.hex must be hex digits`);
  return k === 'hex' ? { hex: s } : { file: s };
}

/** A LUKS2 passphrase or key file; like a key, its value is never echoed in an error. */
function checkSecret(v: unknown, what: string): { passphrase: string } | { file: string } {
  if (!isPlainObject(v)) fail(`${what} must be { passphrase } or { file }, not ${typeName(v)}`);
  const keys = Object.keys(v);
  if (keys.length !== 1 || (keys[0] !== 'passphrase' && keys[0] !== 'file')) fail(`${what} must be { passphrase } or { file } (one of them)`);
  const k = keys[0] as 'passphrase' | 'file';
  const s = v[k];
  if (typeof s !== 'string') fail(`${what}.${k} must be a string, not ${typeName(s)}`);
  if (s.length > LIMITS.stringChars) fail(`${what}.${k} is too long (at most ${LIMITS.stringChars} characters)`);
  if (s.includes('\0')) fail(`${what}.${k} must not contain a NUL character`);
  if (s === '') fail(k === 'passphrase' ? `${what}: the passphrase is empty` : `${what}: the key file path is empty`);
  return k === 'passphrase' ? { passphrase: s } : { file: s };
}

/** A fresh object holding only the shape's fields, each checked; null means absent (JSON has no undefined). */
function checkObject(v: unknown, shape: Readonly<Record<string, Field>>, name: string): Record<string, unknown> {
  if (v === undefined || v === null) fail(`${name}: expected an object of options, got ${v === null ? 'null' : 'nothing'}`);
  if (!isPlainObject(v)) fail(`${name}: expected an object of options, not ${typeName(v)}`);
  const out: Record<string, unknown> = {};
  for (const [k, f] of Object.entries(shape)) {
    if (f.required && (v[k] === undefined || v[k] === null)) fail(`${name}: ${k} is required`);
  }
  for (const k of Object.keys(v)) {
    if (FORBIDDEN_KEYS.has(k)) fail(`${name}: field "${k}" is not allowed`);
    const f = Object.hasOwn(shape, k) ? shape[k]! : null;
    if (!f) fail(`${name}: unknown field "${k.length > 64 ? `${k.slice(0, 64)}…` : k}"`);
    const val = v[k];
    if (val === null || val === undefined) continue;
    const what = `${name}: ${k}`;
    switch (f.t) {
      case 'string':
        out[k] = checkString(val, what);
        break;
      case 'path':
        out[k] = checkString(val, what, true);
        break;
      case 'bool':
        if (typeof val !== 'boolean') fail(`${what} must be true or false, not ${typeName(val)}`);
        out[k] = val;
        break;
      case 'int':
        if (typeof val !== 'number' || !Number.isFinite(val)) fail(`${what} must be a whole number, not ${typeName(val)}`);
        if (!Number.isSafeInteger(val)) fail(`${what} must be a whole number of at most ${Number.MAX_SAFE_INTEGER} (got ${val})`);
        out[k] = val;
        break;
      case 'enum':
        if (typeof val !== 'string' || !f.values.includes(val)) fail(`${what} must be ${f.values.slice(0, -1).join(', ')} or ${f.values.at(-1)}`);
        out[k] = val;
        break;
      case 'key':
        out[k] = checkKey(val, what);
        break;
      case 'secret':
        out[k] = checkSecret(val, what);
        break;
    }
  }
  return out;
}

/** Validates a command and its arguments (from any surface) against the contract's COMMANDS table. */
export function validateCall(cmd: unknown, args: unknown): Call {
  if (typeof cmd !== 'string') fail(`command must be a string, not ${typeName(cmd)}`);
  if (!Object.hasOwn(COMMANDS, cmd)) fail(`unknown command "${cmd.length > 64 ? `${cmd.slice(0, 64)}…` : cmd}"`);
  const c = cmd as CommandName;
  const schema: ReadonlyArray<{ kind: 'id' } | { kind: 'object'; name: string; shape: Readonly<Record<string, Field>> }> = COMMANDS[c].args;
  const a = args === undefined || args === null ? [] : args;
  if (!Array.isArray(a)) fail(`${c}: arguments must be an array, not ${typeName(a)}`);
  if (a.length > schema.length)
    fail(`${c}: expected ${schema.length === 0 ? 'no arguments' : `${schema.length} argument${schema.length > 1 ? 's' : ''}`}, got ${a.length}`);
  const out = schema.map((s, i) => {
    const v = a[i];
    if (s.kind === 'id') {
      if (typeof v !== 'string' || v.length === 0 || v.length > 64) fail(`${c}: expected a volume id`);
      return v;
    }
    return checkObject(v, s.shape, s.name);
  });
  // every argument was checked against the schema typed against CommandArgs<c> (engine/api.ts): this is that type
  return { cmd: c, args: out } as Call;
}

/** A WebSocket frame's envelope { id, cmd, args } (the call itself is validated by answer()), or the error to answer
 *  at once (with the frame's id when one was readable, else -1). */
export function parseFrame(
  data: Buffer | ArrayBuffer | Buffer[] | string,
  isBinary: boolean,
): { id: number; cmd: unknown; args: unknown } | { id: number; error: string } {
  const bytes = typeof data === 'string' ? Buffer.byteLength(data) : Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : data.byteLength;
  if (isBinary) return { id: -1, error: `binary frames are not accepted (${bytes} bytes): send a JSON text frame { id, cmd, args }` };
  if (bytes > LIMITS.frameBytes) return { id: -1, error: `frame too large (${bytes} bytes; at most ${LIMITS.frameBytes})` };
  const text = typeof data === 'string' ? data : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch {
    // the parser's message quotes the input (which may hold a key): not echoed
    return { id: -1, error: `frame is not valid JSON (${bytes} bytes): send { id, cmd, args }` };
  }
  if (!isPlainObject(frame)) return { id: -1, error: `frame must be an object { id, cmd, args }, not ${typeName(frame)}` };
  const id = frame.id;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0)
    return { id: -1, error: `frame id must be a whole number ≥ 0, not ${typeName(id)}${typeof id === 'number' ? ` ${id}` : ''}` };
  for (const k of Object.keys(frame))
    if (k !== 'id' && k !== 'cmd' && k !== 'args')
      return { id, error: `frame: unknown field "${k.length > 64 ? `${k.slice(0, 64)}…` : k}" (a frame is { id, cmd, args })` };
  return { id, cmd: frame.cmd, args: frame.args };
}

/** An HTTP /api/CMD body (a JSON array of arguments, or empty) → the arguments. Throws the error to answer (400). */
export function parseBody(body: Buffer): unknown {
  if (body.length > LIMITS.frameBytes) fail(`body too large (${body.length} bytes; at most ${LIMITS.frameBytes})`);
  if (!body.length) return [];
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return fail(`body is not valid JSON (${body.length} bytes): send the arguments as a JSON array`);
  }
}

/** Reads an HTTP request body, at most LIMITS.frameBytes (more: the error to answer, 413). */
export async function readBody(req: AsyncIterable<Buffer | string>): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    const b = typeof c === 'string' ? Buffer.from(c) : c;
    n += b.length;
    if (n > LIMITS.frameBytes) throw new IntegrityStudioError(`body too large (more than ${LIMITS.frameBytes} bytes)`, 'E2BIG');
    parts.push(b);
  }
  return Buffer.concat(parts);
}

// ---- logging without keys ----

const SECRET_FIELD = /key|hex|secret|passphrase|password|token/i;

/** A copy of `v` fit for a log: values of key-like fields replaced, long strings cut, depth bounded. */
export function scrub(v: unknown, depth = 0): unknown {
  if (depth > 6) return '…';
  if (typeof v === 'string') return v.length > 200 ? `${v.slice(0, 200)}…(${v.length} chars)` : v;
  if (Array.isArray(v)) return v.slice(0, 20).map((x) => scrub(x, depth + 1));
  if (isPlainObject(v)) {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(v).slice(0, 50)) o[k] = SECRET_FIELD.test(k) ? '<redacted>' : scrub(v[k], depth + 1);
    return o;
  }
  return v;
}

/** Every string under a key-like field of `v` (to strike from messages before they are logged). */
function secretsIn(v: unknown, out: string[] = [], depth = 0, secret = false): string[] {
  if (depth > 6) return out;
  if (typeof v === 'string') {
    if (secret && v.length >= 4) out.push(v);
    return out;
  }
  if (Array.isArray(v)) for (const x of v) secretsIn(x, out, depth + 1, secret);
  else if (isPlainObject(v)) for (const k of Object.keys(v)) secretsIn(v[k], out, depth + 1, secret || SECRET_FIELD.test(k));
  return out;
}

/** `text` with the given secrets and any long run of hex digits (a key printed by mistake) struck out. */
export function scrubText(text: string, secrets: string[] = []): string {
  let t = text;
  for (const s of secrets) t = t.split(s).join('<redacted>');
  return t.replace(/\b[0-9a-fA-F]{32,}\b/g, '<redacted hex>');
}

export type Logger = (line: string) => void;
let logger: Logger = (line) => process.stderr.write(line.endsWith('\n') ? line : `${line}\n`);
/** where internal errors go (stderr by default; tests capture it) */
export function setLogger(l: Logger): void {
  logger = l;
}

/** Logs an unexpected exception (not an IntegrityStudioError) with the call, keys scrubbed. */
export function logInternal(surface: string, what: string, args: unknown, err: unknown): void {
  const secrets = secretsIn(args);
  const e = err instanceof Error ? err : new Error(String(err));
  const line = `integrity-studio ${surface}: internal error in ${what} (arguments ${JSON.stringify(scrub(args))}): ${e.stack ?? e.message}`;
  try {
    logger(scrubText(line, secrets));
  } catch {
    /* a broken log sink must not turn an answered error into a crash */
  }
}

/** The one line a caller sees for an error: ours as they are; anything else named as internal (and logged). */
export function errorMessage(surface: string, what: string, args: unknown, err: unknown): string {
  if (err instanceof IntegrityStudioError) return err.message;
  logInternal(surface, what, args, err);
  const msg = err instanceof Error ? err.message : String(err);
  return scrubText(`internal error in ${what}: ${msg} (the host logged it and keeps running)`, secretsIn(args));
}

/**
 * Runs a validated (or to-be-validated) call and turns every outcome into a ResponseFrame: never throws, never
 * rejects. `run` is the host dispatcher.
 */
export async function answer(surface: string, id: number, cmd: unknown, args: unknown, run: (call: Call) => unknown): Promise<ResponseFrame> {
  let call: Call;
  try {
    call = validateCall(cmd, args);
  } catch (e) {
    return { id, ok: false, error: errorMessage(surface, String(cmd).slice(0, 64), args, e) };
  }
  try {
    const result = await run(call);
    return { id, ok: true, result: result ?? null };
  } catch (e) {
    const code = e instanceof IntegrityStudioError ? e.code : undefined;
    return { id, ok: false, error: errorMessage(surface, call.cmd, call.args, e), ...(code ? { code } : {}) };
  }
}

/**
 * Process-level guard for the long-running hosts (serve, the Electron main process): an exception or rejection
 * nobody caught is logged (keys scrubbed) and the process goes on, so running jobs (worker threads) are not lost.
 */
export function installProcessGuards(surface: string): void {
  process.on('uncaughtException', (e) => logInternal(surface, 'the process (uncaught exception)', null, e));
  process.on('unhandledRejection', (e) => logInternal(surface, 'the process (unhandled rejection)', null, e));
}
