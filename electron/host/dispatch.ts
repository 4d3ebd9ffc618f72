// Validates one IntegrityApi command frame (from IPC or the WebSocket) and runs it on the EngineHost.
// Every argument is checked here: a renderer is not trusted with more than the contract. The command names are
// engine/api.ts COMMAND_NAMES (the preload's copy is checked against them in a test).
import { IntegrityStudioError } from '../../engine/errors.js';
import { COMMAND_NAMES, type CommandName } from '../../engine/api.js';
import type { EngineHost } from './engine-host.js';

type Shape = Record<string, 'string' | 'number' | 'boolean' | 'key'>;
const ID_COMMANDS = new Set<CommandName>(['removeVolume', 'replayJournal', 'startRecalc', 'pauseRecalc', 'resumeRecalc', 'resetRecalc', 'startScrub', 'pauseScrub', 'resumeScrub']);
const OPEN_KEYS: Shape = {
  dataDevice: 'string', integrity: 'string', integrityKey: 'key', journalIntegrity: 'string', journalIntegrityKey: 'key',
  journalCrypt: 'string', journalCryptKey: 'key', mode: 'string', allowDiscards: 'boolean', bitmapSectorsPerBit: 'number',
  bitmapFlushTimeMs: 'number',
};
const CREATE_KEYS: Shape = {
  ...OPEN_KEYS, path: 'string', size: 'number', name: 'string', tagSize: 'number', sectorSize: 'number', journalSize: 'number',
  interleaveSectors: 'number', bufferSectors: 'number', noWipe: 'boolean', integrityRecalculate: 'boolean', legacyPadding: 'boolean',
  legacyHmac: 'boolean', force: 'boolean',
};
const ADD_KEYS: Shape = { ...OPEN_KEYS, path: 'string', name: 'string' };
const UPDATE_KEYS: Shape = { ...OPEN_KEYS, name: 'string' };
const UNLOCK_KEYS: Shape = { integrityKey: 'key', journalIntegrityKey: 'key', journalCryptKey: 'key' };

function checkKeyInput(v: unknown, what: string, k: string): void {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new IntegrityStudioError(`${what}: ${k} must be { hex } or { file }`);
  const keys = Object.keys(v);
  if (keys.length !== 1 || (keys[0] !== 'hex' && keys[0] !== 'file')) throw new IntegrityStudioError(`${what}: ${k} must be { hex } or { file }`);
  const s = (v as Record<string, unknown>)[keys[0]!];
  if (typeof s !== 'string' || s.length > 4096) throw new IntegrityStudioError(`${what}: ${k}.${keys[0]} must be a string (at most 4096 characters)`);
}

function checkObject(v: unknown, shape: Shape, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new IntegrityStudioError(`${what}: expected an object`);
  for (const [k, val] of Object.entries(v)) {
    if (!Object.hasOwn(shape, k)) throw new IntegrityStudioError(`${what}: unknown field "${k}"`);
    if (val === undefined || val === null) continue;
    if (shape[k] === 'key') checkKeyInput(val, what, k);
    else if (typeof val !== shape[k]) throw new IntegrityStudioError(`${what}: ${k} must be a ${shape[k]}`);
    if (typeof val === 'string' && val.length > 4096) throw new IntegrityStudioError(`${what}: ${k} is too long`);
  }
  const mode = (v as { mode?: unknown }).mode;
  if (mode !== undefined && mode !== null && !['journal', 'bitmap', 'direct'].includes(mode as string)) throw new IntegrityStudioError(`${what}: mode must be journal, bitmap or direct`);
  // null means "absent" across JSON
  return Object.fromEntries(Object.entries(v).filter(([, val]) => val !== null));
}

function checkId(cmd: string, v: unknown): string {
  if (typeof v !== 'string' || v.length > 64) throw new IntegrityStudioError(`${cmd}: expected a volume id`);
  return v;
}

export function isCommand(cmd: unknown): cmd is CommandName {
  return typeof cmd === 'string' && (COMMAND_NAMES as readonly string[]).includes(cmd);
}

export async function dispatch(host: EngineHost, cmd: unknown, args: unknown): Promise<unknown> {
  if (typeof cmd !== 'string') throw new IntegrityStudioError('command must be a string');
  if (!isCommand(cmd)) throw new IntegrityStudioError(`unknown command "${cmd}"`);
  const a = Array.isArray(args) ? args : [];
  if (ID_COMMANDS.has(cmd)) {
    if (a.length !== 1) throw new IntegrityStudioError(`${cmd}: expected one volume id`);
    const h = host as unknown as Record<string, (id: string) => unknown>;
    return (await h[cmd]!.call(host, checkId(cmd, a[0]))) ?? null;
  }
  switch (cmd) {
    case 'status': return host.status();
    case 'listVolumes': return host.listVolumes();
    case 'addVolume': return host.addVolume(checkObject(a[0], ADD_KEYS, 'addVolume') as never);
    case 'createVolume': return host.createVolume(checkObject(a[0], CREATE_KEYS, 'createVolume') as never);
    case 'updateVolume': return host.updateVolume(checkId(cmd, a[0]), checkObject(a[1], UPDATE_KEYS, 'updateVolume') as never);
    case 'unlockVolume': return host.unlockVolume(checkId(cmd, a[0]), checkObject(a[1], UNLOCK_KEYS, 'unlockVolume') as never);
    default: throw new IntegrityStudioError(`unknown command "${cmd}"`);
  }
}
