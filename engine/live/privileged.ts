// The privileged helper's protocol: newline-delimited JSON on its stdin/stdout, a fixed set of commands, every
// argument validated before anything runs, anything else refused with one clear error. The helper runs as root
// (pkexec): it answers only what the app may know (keyless), takes keys only as bytes in `activate` (never a path it
// would read as root for someone else), and opens only block devices, or image files owned by the user who started
// it (PKEXEC_UID). Requests:  {"id": 1, "cmd": "list", "args": {}}
// Answers: {"id": 1, "ok": true, "result": …} | {"id": 1, "ok": false, "error": {"code": "…", "message": "…"}}
// Events:  {"event": "ready", "data": {…}} once at start; {"event": "scrub-progress", "data": LiveScrubProgress}.
import fs from 'node:fs';
import path from 'node:path';
import { boundScrub } from './bound.js';
import { fileURLToPath } from 'node:url';
import { IntegrityStudioError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import type { LiveBackend, PlanRequest } from './service.js';
import { validDmName, type ActivateSpec, type ControlAction } from './controls.js';
import { scrubSecrets } from './shell.js';

export const PROTOCOL_VERSION = 1;
/** a request line longer than this is refused unread (keys are at most 4096 bytes, 8192 hex digits) */
export const MAX_REQUEST_BYTES = 65536;

export const HELPER_COMMANDS = [
  'list',
  'status',
  'read-superblock',
  'kernel-log',
  'plan',
  'activate',
  'deactivate',
  'recalc-start',
  'recalc-reset',
  'suspend',
  'resume',
  'scrub-start',
  'scrub-pause',
  'scrub-progress',
  'map-damage',
] as const;
export type HelperCommand = (typeof HELPER_COMMANDS)[number];

export interface HelperRequest {
  id: number;
  cmd: HelperCommand;
  args: Record<string, unknown>;
}

export type HelperMessage =
  | { id: number | null; ok: true; result: unknown }
  | { id: number | null; ok: false; error: { code: string; message: string } }
  | { event: string; data: unknown };

const refuse = (message: string, code: ErrorCode = 'EINVAL') => new IntegrityStudioError(message, code);

type Shape = Record<string, 'string' | 'boolean' | 'number' | 'object'>;

/** Exactly the allowed keys, each of its type (optional unless listed in `required`). */
function fields(args: unknown, shape: Shape, required: string[], what: string): Record<string, unknown> {
  if (args === undefined) args = {};
  if (typeof args !== 'object' || args === null || Array.isArray(args)) throw refuse(`${what}: args must be an object`);
  const o = args as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!Object.hasOwn(shape, k)) throw refuse(`${what}: unknown argument "${k.slice(0, 40)}"`);
    const want = shape[k];
    const v = o[k];
    if (v === undefined) continue;
    if (want === 'object' ? typeof v !== 'object' || v === null || Array.isArray(v) : typeof v !== want) throw refuse(`${what}: ${k} must be a ${want}`);
    if (want === 'number' && !Number.isSafeInteger(v)) throw refuse(`${what}: ${k} must be a whole number`);
  }
  for (const k of required) if (o[k] === undefined) throw refuse(`${what}: ${k} is required`);
  return o;
}

function name(v: unknown, what: string): string {
  if (typeof v !== 'string' || !validDmName(v)) throw refuse(`${what}: "${String(v).slice(0, 40)}" is not a device-mapper name`);
  return v;
}

function bounded(v: unknown, min: number, max: number, what: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw refuse(`${what} must be a whole number from ${min} to ${max}`);
  return v;
}

const ALGORITHM = /^[a-z0-9][a-z0-9()-]{0,31}$/;

function algorithmName(v: unknown, what: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !ALGORITHM.test(v)) throw refuse(`${what}: not an algorithm name`);
  return v;
}

function keyBytes(v: unknown, what: string): Uint8Array | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^(?:[0-9a-fA-F]{2}){1,4096}$/.test(v)) throw refuse(`${what} must be 1 to 4096 bytes in hex`);
  return Buffer.from(v, 'hex');
}

/** The uid of the user the helper acts for: pkexec's caller, sudo's, else our own. */
export function requesterUid(env: NodeJS.ProcessEnv = process.env): number {
  for (const k of ['PKEXEC_UID', 'SUDO_UID']) {
    const v = env[k];
    if (v && /^\d+$/.test(v)) return Number(v);
  }
  return process.getuid?.() ?? -1;
}

/** A path the helper may hand to integritysetup: a block device, or a regular file the requesting user owns. */
export function allowedDevicePath(v: unknown, what: string, uid = requesterUid()): string {
  if (typeof v !== 'string' || !v.startsWith('/') || v.length > 4096 || v.includes('\0')) throw refuse(`${what} must be an absolute path`);
  let real: string;
  let st: fs.Stats;
  try {
    real = fs.realpathSync(v);
    st = fs.statSync(real);
  } catch {
    throw refuse(`${what}: ${v} does not exist`, 'ENOENT');
  }
  if (st.isBlockDevice()) return real;
  if (st.isFile() && (uid === 0 || st.uid === uid)) return real;
  throw refuse(`${what}: ${v} is neither a block device nor an image file of yours`, 'EACCES');
}

const ACTIVATE_SHAPE: Shape = {
  device: 'string',
  name: 'string',
  dataDevice: 'string',
  integrity: 'string',
  integrityKeyHex: 'string',
  journalIntegrity: 'string',
  journalIntegrityKeyHex: 'string',
  journalCrypt: 'string',
  journalCryptKeyHex: 'string',
  mode: 'string',
  bitmapSectorsPerBit: 'number',
  bitmapFlushTimeMs: 'number',
  journalWatermark: 'number',
  journalCommitTimeMs: 'number',
  bufferSectors: 'number',
  allowDiscards: 'boolean',
  recalculate: 'boolean',
  recalculateReset: 'boolean',
  legacyRecalculate: 'boolean',
};

/** The wire form of an activation: ActivateSpec with keys as hex (KeySource files are not accepted here). */
export function activateSpecFromWire(raw: unknown, uid = requesterUid()): ActivateSpec {
  const o = fields(raw, ACTIVATE_SHAPE, ['device', 'name'], 'activate');
  const spec: ActivateSpec = { device: allowedDevicePath(o.device, 'activate: device', uid), name: name(o.name, 'activate') };
  if (o.dataDevice !== undefined) spec.dataDevice = allowedDevicePath(o.dataDevice, 'activate: dataDevice', uid);
  const alg = (k: string) => algorithmName(o[k], `activate: ${k}`);
  const key = (k: string) => keyBytes(o[k], `activate: ${k}`);
  const set = <K extends keyof ActivateSpec>(k: K, v: ActivateSpec[K] | undefined) => {
    if (v !== undefined) spec[k] = v;
  };
  set('integrity', alg('integrity'));
  const ik = key('integrityKeyHex');
  if (ik) spec.integrityKey = { bytes: ik };
  set('journalIntegrity', alg('journalIntegrity'));
  const jik = key('journalIntegrityKeyHex');
  if (jik) spec.journalIntegrityKey = { bytes: jik };
  set('journalCrypt', alg('journalCrypt'));
  const jck = key('journalCryptKeyHex');
  if (jck) spec.journalCryptKey = { bytes: jck };
  if (o.mode !== undefined) {
    if (!['journal', 'bitmap', 'direct', 'recovery'].includes(o.mode as string)) throw refuse('activate: mode must be journal, bitmap, direct or recovery');
    spec.mode = o.mode as ActivateSpec['mode'];
  }
  set('bitmapSectorsPerBit', bounded(o.bitmapSectorsPerBit, 1, 2 ** 31, 'activate: bitmapSectorsPerBit'));
  set('bitmapFlushTimeMs', bounded(o.bitmapFlushTimeMs, 1, 2 ** 31, 'activate: bitmapFlushTimeMs'));
  set('journalWatermark', bounded(o.journalWatermark, 0, 100, 'activate: journalWatermark'));
  set('journalCommitTimeMs', bounded(o.journalCommitTimeMs, 1, 2 ** 31, 'activate: journalCommitTimeMs'));
  set('bufferSectors', bounded(o.bufferSectors, 1, 2 ** 31, 'activate: bufferSectors'));
  for (const b of ['allowDiscards', 'recalculate', 'recalculateReset', 'legacyRecalculate'] as const) if (o[b] !== undefined) spec[b] = o[b] as boolean;
  return spec;
}

/** ActivateSpec (with byte keys) → its wire form. Key files are read by the caller, never sent as paths. */
export function activateSpecToWire(spec: ActivateSpec): Record<string, unknown> {
  const hex = (k: ActivateSpec['integrityKey']) => {
    if (!k) return undefined;
    if ('file' in k) throw new IntegrityStudioError('the privileged helper takes keys as bytes: read the key file first', 'EINVAL');
    return Buffer.from(k.bytes).toString('hex');
  };
  const { integrityKey, journalIntegrityKey, journalCryptKey, ...rest } = spec;
  return { ...rest, integrityKeyHex: hex(integrityKey), journalIntegrityKeyHex: hex(journalIntegrityKey), journalCryptKeyHex: hex(journalCryptKey) };
}

const CONTROL_ACTIONS: ReadonlyArray<Exclude<ControlAction, 'activate'>> = ['deactivate', 'recalc-start', 'recalc-reset', 'suspend', 'resume'];

/** Parses and validates one request line. Throws IntegrityStudioError (with .detail.id when the id was readable). */
export function parseRequest(line: string): HelperRequest {
  if (Buffer.byteLength(line) > MAX_REQUEST_BYTES) throw refuse(`request too large (more than ${MAX_REQUEST_BYTES} bytes)`, 'E2BIG');
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    throw refuse('request is not JSON', 'EPROTO');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw refuse('request must be a JSON object', 'EPROTO');
  const r = raw as Record<string, unknown>;
  const id = r.id;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) throw refuse('request needs an "id" (a whole number ≥ 0)', 'EPROTO');
  for (const k of Object.keys(r))
    if (!['id', 'cmd', 'args'].includes(k)) throw new IntegrityStudioError(`unknown request field "${k.slice(0, 40)}"`, 'EPROTO', { detail: { id } });
  const cmd = r.cmd;
  if (typeof cmd !== 'string' || !(HELPER_COMMANDS as readonly string[]).includes(cmd)) {
    throw new IntegrityStudioError(`unknown command "${String(cmd).slice(0, 40)}": the helper answers only ${HELPER_COMMANDS.join(', ')}`, 'EUNKNOWN', {
      detail: { id },
    });
  }
  const args = r.args === undefined ? {} : r.args;
  if (typeof args !== 'object' || args === null || Array.isArray(args))
    throw new IntegrityStudioError(`${cmd}: args must be an object`, 'EINVAL', { detail: { id } });
  return { id, cmd: cmd as HelperCommand, args: args as Record<string, unknown> };
}

function planRequest(args: Record<string, unknown>, what: string, uid: number): PlanRequest {
  const o = fields(args, { action: 'string', name: 'string', spec: 'object', confirm: 'boolean' }, ['action'], what);
  if (o.action === 'activate') return { action: 'activate', spec: activateSpecFromWire(o.spec, uid) };
  if (!CONTROL_ACTIONS.includes(o.action as Exclude<ControlAction, 'activate'>)) throw refuse(`${what}: unknown action "${String(o.action).slice(0, 40)}"`);
  return { action: o.action as Exclude<ControlAction, 'activate'>, name: name(o.name, what) };
}

/** Runs one validated request against the backend. */
export async function dispatch(backend: LiveBackend, req: HelperRequest, uid = requesterUid()): Promise<unknown> {
  const a = req.args;
  const nameOnly = () => name(fields(a, { name: 'string' }, ['name'], req.cmd).name, req.cmd);
  switch (req.cmd) {
    case 'list':
      fields(a, {}, [], req.cmd);
      return backend.list();
    case 'status':
      return backend.status(nameOnly());
    case 'read-superblock':
      return backend.readSuperblock(nameOnly());
    case 'kernel-log': {
      const o = fields(a, { name: 'string', sinceSeq: 'number' }, ['name'], req.cmd);
      return backend.kernelLog(name(o.name, req.cmd), o.sinceSeq as number | undefined);
    }
    case 'plan':
      return backend.plan(planRequest(a, 'plan', uid));
    case 'activate': {
      const o = fields(a, { spec: 'object', confirm: 'boolean' }, ['spec'], req.cmd);
      return backend.control({ action: 'activate', spec: activateSpecFromWire(o.spec, uid) }, o.confirm === true);
    }
    case 'deactivate':
    case 'recalc-start':
    case 'recalc-reset':
    case 'suspend':
    case 'resume': {
      const o = fields(a, { name: 'string', confirm: 'boolean' }, ['name'], req.cmd);
      return backend.control({ action: req.cmd, name: name(o.name, req.cmd) }, o.confirm === true);
    }
    case 'scrub-start': {
      const o = fields(a, { name: 'string', maxBytesPerSecond: 'number', reset: 'boolean' }, ['name'], req.cmd);
      const max = bounded(o.maxBytesPerSecond, 1, 2 ** 50, 'scrub-start: maxBytesPerSecond');
      return boundScrub(
        await backend.scrubStart(name(o.name, req.cmd), { ...(max ? { maxBytesPerSecond: max } : {}), ...(o.reset === true ? { reset: true } : {}) }),
      );
    }
    case 'scrub-pause':
      return boundScrub(await backend.scrubPause(nameOnly()));
    case 'scrub-progress': {
      const p = await backend.scrubProgress(nameOnly());
      return p ? boundScrub(p) : null;
    }
    case 'map-damage':
      return backend.mapDamage(nameOnly());
  }
}

/** An error as the helper answers it: IntegrityStudioErrors in their words, anything else as an internal error,
 *  both with anything that looks like key material removed. */
export function errorAnswer(e: unknown): { code: string; message: string } {
  if (e instanceof IntegrityStudioError) return { code: e.code, message: scrubSecrets(e.message) };
  return { code: 'EINTERNAL', message: `internal error: ${scrubSecrets((e as Error)?.message ?? String(e))}` };
}

/**
 * The helper's loop over a line stream: answers each request (concurrently: a slow control does not hold up the
 * 1 Hz status), forwards scrub progress as events, and when its input ends pauses running scrubs and resolves.
 */
export async function serveHelper(
  backend: LiveBackend,
  input: NodeJS.ReadableStream,
  write: (line: string) => void,
  opts: { uid?: number } = {},
): Promise<void> {
  const uid = opts.uid ?? requesterUid();
  const send = (m: HelperMessage) => write(JSON.stringify(m) + '\n');
  // progress goes up the pipe bounded (its counts kept): a failing disk's million ranges are not sent 4 times a second
  const unsubscribe = backend.onScrubProgress((p) => send({ event: 'scrub-progress', data: boundScrub(p) }));
  send({ event: 'ready', data: { protocol: PROTOCOL_VERSION, pid: process.pid, root: process.getuid?.() === 0, commands: HELPER_COMMANDS } });
  const inflight = new Set<Promise<void>>();
  let pending = '';
  let discarding = false;
  const handle = (line: string) => {
    if (!line.trim()) return;
    let req: HelperRequest;
    try {
      req = parseRequest(line);
    } catch (e) {
      const id = e instanceof IntegrityStudioError && typeof e.detail?.id === 'number' ? e.detail.id : null;
      send({ id, ok: false, error: errorAnswer(e) });
      return;
    }
    const p = dispatch(backend, req, uid).then(
      (result) => send({ id: req.id, ok: true, result: result ?? null }),
      (e) => send({ id: req.id, ok: false, error: errorAnswer(e) }),
    );
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  };
  await new Promise<void>((resolve) => {
    input.setEncoding?.('utf8');
    input.on('data', (chunk: string | Buffer) => {
      pending += chunk.toString();
      for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (discarding) discarding = false;
        else handle(line);
      }
      if (pending.length > MAX_REQUEST_BYTES) {
        // an endless line: answer once, drop it up to its newline
        if (!discarding) send({ id: null, ok: false, error: { code: 'E2BIG', message: `request too large (more than ${MAX_REQUEST_BYTES} bytes)` } });
        discarding = true;
        pending = '';
      }
    });
    input.on('end', () => resolve());
    input.on('close', () => resolve());
  });
  if (pending.trim() && !discarding) handle(pending);
  await Promise.allSettled([...inflight]);
  unsubscribe();
  await backend.close();
}

/** Where the installed helper lives (the wrapper that pkexec runs; assets/linux/live-helper). */
export const INSTALLED_HELPER = '/usr/lib/integrity-studio/live-helper';
export const POLKIT_ACTION = 'dev.integrity-studio.live-helper';

/**
 * How the app starts the helper: as root already (`serve` run as root, tests) node runs the script directly;
 * otherwise pkexec runs the installed wrapper, whose path the polkit policy names (pkexec clears the environment,
 * so the wrapper sets ELECTRON_RUN_AS_NODE itself). Returns argv and the environment additions.
 */
export function helperCommand(opts: { uid?: number; execPath?: string; script?: string; installed?: string; electron?: boolean } = {}): {
  argv: string[];
  env: Record<string, string>;
} {
  const uid = opts.uid ?? process.getuid?.() ?? -1;
  const script = opts.script ?? path.join(path.dirname(fileURLToPath(import.meta.url)), 'privileged-main.js');
  if (uid === 0) return { argv: [opts.execPath ?? process.execPath, script], env: opts.electron ? { ELECTRON_RUN_AS_NODE: '1' } : {} };
  return { argv: ['pkexec', opts.installed ?? INSTALLED_HELPER], env: {} };
}
