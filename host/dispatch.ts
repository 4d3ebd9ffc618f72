// Runs one IntegrityApi command (from IPC, the WebSocket or HTTP) on the EngineHost. Its arguments are checked
// first by protocol.ts validateCall, the one validator of every surface (per-command schemas over engine/api.ts
// COMMAND_NAMES): a renderer is not trusted with more than the contract.
import { COMMAND_NAMES, type CommandName } from '../engine/api.js';
import type { EngineHost } from './engine-host.js';
import { validateCall, type Call } from './protocol.js';

export function isCommand(cmd: unknown): cmd is CommandName {
  return typeof cmd === 'string' && (COMMAND_NAMES as readonly string[]).includes(cmd);
}

/** Runs an already validated call. */
export async function run(host: EngineHost, call: Call): Promise<unknown> {
  const a = call.args as never[];
  switch (call.cmd) {
    case 'status': return host.status();
    case 'listVolumes': return host.listVolumes();
    case 'addVolume': return host.addAnyVolume(a[0]!);
    case 'createVolume': return host.createVolume(a[0]!);
    case 'updateVolume': return host.updateVolume(a[0]!, a[1]!);
    case 'unlockVolume': return host.unlockAnyVolume(a[0]!, a[1]!);
    case 'removeVolume': return host.removeVolume(a[0]!);
    case 'replayJournal': return host.replayJournal(a[0]!);
    case 'startRecalc': return host.startRecalc(a[0]!);
    case 'pauseRecalc': return host.pauseRecalc(a[0]!);
    case 'resumeRecalc': return host.resumeRecalc(a[0]!);
    case 'resetRecalc': return host.resetRecalc(a[0]!);
    case 'startScrub': return host.startScrub(a[0]!);
    case 'pauseScrub': return host.pauseScrub(a[0]!);
    case 'resumeScrub': return host.resumeScrub(a[0]!);
    case 'createLuksVolume': return host.createLuksVolume(a[0]!);
    case 'resizeLimits': return host.resizeLimits(a[0]!);
    case 'resizeVolume': return host.resizeVolume(a[0]!, a[1]!);
  }
}

/** Validates, then runs (throws the validation error or the host's). */
export async function dispatch(host: EngineHost, cmd: unknown, args: unknown): Promise<unknown> {
  return (await run(host, validateCall(cmd, args))) ?? null;
}
