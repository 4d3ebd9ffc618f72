// engine/live: the kernel's own dm-integrity devices (issue 18) — discovery, live status, controls, live scrub and
// the privileged helper. Plain Node; see README.md here.
export type * from './types.js';
export {
  parseIntegrityTable,
  parseCryptTable,
  redactTableLine,
  editKeyedTable,
  sedForEdit,
  KEY_PLACEHOLDER,
  type CryptTable,
  type FlagOption,
} from './table.js';
export { parseIntegrityStatus, parseDmInfo, parseTargets, targetVersion, parseMountinfo, type DmInfo } from './parse.js';
export { ownerOf, splitLvmName } from './owner.js';
export { listLiveVolumes, findLiveVolume, readDmSnapshot, volumesOf, type DiscoverOptions, type DmSnapshot } from './discover.js';
export { readLiveSample, type LiveSample, type SampleOptions } from './sample.js';
export { LiveSampler, PositionRate, type LiveSnapshot, type RecalcState } from './sampler.js';
export { readSuperblockDirect, type LiveSuperblock } from './superblock.js';
export { KmsgReader, parseKmsgRecord, integrityMessage, messagesFor, type KmsgRecord, type IntegrityMessage } from './kmsg.js';
export {
  planControl,
  planActivate,
  runControl,
  integritysetupOpenArgs,
  usersOf,
  validDmName,
  type ActivateSpec,
  type KeySource,
  type ControlAction,
  type ControlRequest,
  type ControlPlan,
  type ControlResult,
  type ControlOptions,
} from './controls.js';
export { startLiveScrub, savedLiveScrub, liveScrubGeometry, type LiveScrubProgress, type LiveScrubOptions, type LiveScrubHandle } from './scrub.js';
export type { LiveUncheckedReason } from './scrub-run.js';
export { liveScrubStatePath } from './scrub-state.js';
export { liveAvailability, type LiveAvailability } from './availability.js';
export { LiveService, type LiveBackend, type PlanRequest, type ScrubStartOptions } from './service.js';
export { PrivilegedClient, type PrivilegedClientOptions } from './privileged-client.js';
export { helperCommand, HELPER_COMMANDS, INSTALLED_HELPER, POLKIT_ACTION, PROTOCOL_VERSION, type HelperCommand } from './privileged.js';
export { shellQuote, shellCommand } from './shell.js';
export { systemRunner, type ToolRunner, type RunResult, type SystemFiles } from './system.js';
