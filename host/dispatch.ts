// Runs one command of the contract (from IPC, the WebSocket or HTTP) on the EngineHost, after host/protocol.ts has
// validated it against the contract's table (engine/api.ts COMMANDS). The handler table is typed by the contract:
// a command missing here, or one whose arguments differ, does not compile.
import type { CommandArgs, CommandName, CommandResult } from '../engine/api.js';
import type { EngineHost } from './engine-host.js';
import { validateCall, type Call } from './protocol.js';

type Handlers = { [C in CommandName]: (host: EngineHost, args: CommandArgs<C>) => CommandResult<C> | Promise<CommandResult<C>> };

const HANDLERS: Handlers = {
  status: (h) => h.status(),
  listVolumes: (h) => h.listVolumes(),
  addVolume: (h, [req]) => h.addVolume(req),
  createVolume: (h, [req]) => h.createVolume(req),
  removeVolume: (h, [id]) => h.removeVolume(id),
  updateVolume: (h, [id, req]) => h.updateVolume(id, req),
  unlockVolume: (h, [id, req]) => h.unlockVolume(id, req),
  replayJournal: (h, [id]) => h.replayJournal(id),
  startRecalc: (h, [id]) => h.startRecalc(id),
  pauseRecalc: (h, [id]) => h.pauseRecalc(id),
  resumeRecalc: (h, [id]) => h.resumeRecalc(id),
  resetRecalc: (h, [id]) => h.resetRecalc(id),
  startScrub: (h, [id]) => h.startScrub(id),
  pauseScrub: (h, [id]) => h.pauseScrub(id),
  resumeScrub: (h, [id]) => h.resumeScrub(id),
  createLuksVolume: (h, [req]) => h.createLuksVolume(req),
  resizeLimits: (h, [id]) => h.resizeLimits(id),
  resizeVolume: (h, [id, req]) => h.resizeVolume(id, req),
  listErrors: (h, [id, req]) => h.listErrors(id, req),
  exportErrors: (h, [id, req]) => h.exportErrors(id, req),
  mapDamage: (h, [id, req]) => h.mapDamage(id, req),
  rewriteFreeBlocks: (h, [id, req]) => h.rewriteFreeBlocks(id, req),
  liveVolumes: (h) => h.liveVolumes(),
  watchLive: (h, [name]) => h.watchLive(name),
  planLive: (h, [req]) => h.planLive(req),
  controlLive: (h, [req]) => h.controlLive(req),
  startLiveScrub: (h, [name, req]) => h.startLiveScrub(name, req),
  pauseLiveScrub: (h, [name]) => h.pauseLiveScrub(name),
  liveScrubProgress: (h, [name]) => h.liveScrubProgress(name),
  liveKernelLog: (h, [name]) => h.liveKernelLog(name),
  mapLiveDamage: (h, [name, req]) => h.mapLiveDamage(name, req),
};

/** Runs an already validated call. */
export async function run<C extends CommandName>(host: EngineHost, call: Call & { cmd: C }): Promise<CommandResult<C>> {
  const handler = HANDLERS[call.cmd] as (host: EngineHost, args: CommandArgs<C>) => CommandResult<C> | Promise<CommandResult<C>>;
  return handler(host, call.args as CommandArgs<C>);
}

/** Validates, then runs (throws the validation error or the host's). */
export async function dispatch(host: EngineHost, cmd: unknown, args: unknown): Promise<unknown> {
  return (await run(host, validateCall(cmd, args))) ?? null;
}
