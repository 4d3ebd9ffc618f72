// Validates one IntegrityApi command frame (from IPC or the WebSocket) and runs it on the EngineHost.
// Every argument is checked here: a renderer is not trusted with more than the contract.
import { IntegrityStudioError } from '../../engine/errors.js';
import type { CommandName } from '../../engine/api.js';
import type { EngineHost } from './engine-host.js';

const ID_COMMANDS = new Set(['removeVolume', 'startRecalc', 'pauseRecalc', 'resumeRecalc', 'resetRecalc', 'startScrub', 'pauseScrub', 'resumeScrub']);
const CREATE_KEYS: Record<string, 'string' | 'number' | 'boolean'> = {
  path: 'string', size: 'number', name: 'string', integrity: 'string', integrityKeyHex: 'string', tagSize: 'number',
  sectorSize: 'number', journalSize: 'number', interleaveSectors: 'number', bufferSectors: 'number', dataDevice: 'string',
  noWipe: 'boolean', integrityRecalculate: 'boolean', legacyPadding: 'boolean', legacyHmac: 'boolean',
  journalIntegrity: 'string', journalIntegrityKeyHex: 'string', journalCrypt: 'string', journalCryptKeyHex: 'string',
  mode: 'string', force: 'boolean',
};
const ADD_KEYS: Record<string, 'string' | 'number' | 'boolean'> = { path: 'string', name: 'string', dataDevice: 'string', integrity: 'string', integrityKeyHex: 'string', mode: 'string' };

function checkObject(v: unknown, shape: Record<string, string>, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new IntegrityStudioError(`${what}: expected an object`);
  for (const [k, val] of Object.entries(v)) {
    if (!(k in shape)) throw new IntegrityStudioError(`${what}: unknown field "${k}"`);
    if (val !== undefined && val !== null && typeof val !== shape[k]) throw new IntegrityStudioError(`${what}: ${k} must be a ${shape[k]}`);
    if (typeof val === 'string' && val.length > 4096) throw new IntegrityStudioError(`${what}: ${k} is too long`);
  }
  const mode = (v as { mode?: unknown }).mode;
  if (mode !== undefined && mode !== null && !['journal', 'bitmap', 'direct'].includes(mode as string)) throw new IntegrityStudioError(`${what}: mode must be journal, bitmap or direct`);
  return v as Record<string, unknown>;
}

export async function dispatch(host: EngineHost, cmd: unknown, args: unknown): Promise<unknown> {
  if (typeof cmd !== 'string') throw new IntegrityStudioError('command must be a string');
  const a = Array.isArray(args) ? args : [];
  if (ID_COMMANDS.has(cmd)) {
    if (a.length !== 1 || typeof a[0] !== 'string' || a[0].length > 64) throw new IntegrityStudioError(`${cmd}: expected one volume id`);
    const h = host as unknown as Record<string, (id: string) => unknown>;
    return (await h[cmd]!.call(host, a[0])) ?? null;
  }
  switch (cmd as CommandName) {
    case 'status': return host.status();
    case 'listVolumes': return host.listVolumes();
    case 'addVolume': return host.addVolume(checkObject(a[0], ADD_KEYS, 'addVolume') as never);
    case 'createVolume': return host.createVolume(checkObject(a[0], CREATE_KEYS, 'createVolume') as never);
    default: throw new IntegrityStudioError(`unknown command "${cmd}"`);
  }
}
