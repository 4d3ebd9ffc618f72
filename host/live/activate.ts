// Activation of a volume of the app's list in the kernel (integritysetup open): its open options and the keys the
// host holds become an ActivateSpec. Keys go as bytes (the engine hands them to integritysetup through FIFOs); they
// never reach the renderer, an event or an answer: plans show `--integrity-key-file` placeholders.
import { IntegrityStudioError } from '../../engine/errors.js';
import type { LiveControlRequest } from '../../engine/api.js';
import type { ActivateSpec } from '../../engine/live/controls.js';
import { validDmName } from '../../engine/live/controls.js';
import { requireKeys } from '../keys.js';
import type { Entry } from '../volumes.js';

/** a dm name from a volume's name: what integritysetup accepts, else the volume id */
function defaultDmName(e: Entry): string {
  const n = e.name.replace(/[^A-Za-z0-9#+\-.:=@_]/g, '_').slice(0, 127);
  return validDmName(n) ? n : e.id;
}

/** The spec of `integritysetup open` for an entry; the key bytes are copies (zero them after use: wipeSpec). */
export function activateSpecOf(e: Entry, req: LiveControlRequest): ActivateSpec {
  if (e.luks) {
    throw new IntegrityStudioError(
      `${e.name} is a LUKS2 volume: cryptsetup opens it (cryptsetup open ${e.path} NAME), which activates its dm-integrity device below dm-crypt`,
      'EREFUSED',
    );
  }
  if (e.formatting || e.resizing || e.replaying || e.handles.recalc || e.handles.scrub || e.handles.wipe) {
    throw new IntegrityStudioError(
      `${e.name}: a job of the app's own engine is using it: pause or wait for it first (the kernel and our engine must never write it at once)`,
      'EBUSY',
    );
  }
  requireKeys(e);
  const o = e.options;
  const spec: ActivateSpec = { device: e.path, name: req.name ?? defaultDmName(e), integrity: o.integrity, mode: o.mode };
  if (o.data_device) spec.dataDevice = o.data_device;
  if (e.keys.integrity) spec.integrityKey = { bytes: new Uint8Array(e.keys.integrity) };
  if (o.journal_integrity) spec.journalIntegrity = o.journal_integrity;
  if (e.keys.journalIntegrity) spec.journalIntegrityKey = { bytes: new Uint8Array(e.keys.journalIntegrity) };
  if (o.journal_crypt) spec.journalCrypt = o.journal_crypt;
  if (e.keys.journalCrypt) spec.journalCryptKey = { bytes: new Uint8Array(e.keys.journalCrypt) };
  if (o.allow_discards) spec.allowDiscards = true;
  if (o.bitmap_sectors_per_bit !== null) spec.bitmapSectorsPerBit = o.bitmap_sectors_per_bit;
  if (o.bitmap_flush_time_ms !== null) spec.bitmapFlushTimeMs = o.bitmap_flush_time_ms;
  if (e.bufferSectors !== null) spec.bufferSectors = e.bufferSectors;
  if (req.recalculate) spec.recalculate = true;
  if (req.recalculateReset) spec.recalculateReset = true;
  return spec;
}

/** zeroes the key copies of a spec */
export function wipeSpec(spec: ActivateSpec): void {
  for (const k of [spec.integrityKey, spec.journalIntegrityKey, spec.journalCryptKey]) if (k && 'bytes' in k) k.bytes.fill(0);
}
