// Keys and algorithms against the disk: which keys a volume's algorithms need, which of them the host lacks, what
// can be proved wrong (a journal MAC key against the superblock's MAC under fix_hmac; a journal crypt key that does
// not decrypt the journal's commit ids), and a labelled guess when a sample of blocks all fail their tags.
import { IntegrityStudioError } from '../engine/errors.js';
import { checkSuperblockMac, openVolume, type Volume } from '../engine/volume.js';
import { SB_FLAG_FIXED_HMAC, SB_FLAG_HAVE_JOURNAL_MAC } from '../engine/layout/superblock.js';
import { algorithmInfo } from '../engine/hash/index.js';
import { journalCipher } from '../engine/integrity/journal-keys.js';
import { journalOnDisk } from '../engine/integrity/journal-disk.js';
import { lockHolder } from '../engine/io/lock.js';
import type { OpenOptionsInfo, VolumeSnapshot } from '../engine/api.js';
import { engineOptions, KEY_WORDS, type KeyName, type Keys } from './requests.js';
import type { Entry } from './volumes.js';

/** Which keys the algorithms need: a keyed internal hash, a journal MAC (superblock flag or option), journal crypt. */
export function keysRequired(o: OpenOptionsInfo, sbFlags: number | null): VolumeSnapshot['keys_required'] {
  return {
    integrity: algorithmInfo(o.integrity).keyed,
    journalIntegrity: !!o.journal_integrity || (sbFlags !== null && !!(sbFlags & SB_FLAG_HAVE_JOURNAL_MAC)),
    journalCrypt: !!o.journal_crypt,
  };
}

export function missingKeys(e: Entry, sbFlags: number | null): KeyName[] {
  const req = keysRequired(e.options, sbFlags);
  return (Object.keys(req) as KeyName[]).filter((k) => req[k] && !e.keys[k]);
}

/** "the integrity key and journal crypt key are not held" */
export function missingWords(missing: KeyName[]): string {
  return `the ${missing.map((k) => KEY_WORDS[k]).join(', ')} ${missing.length > 1 ? 'are' : 'is'} not held`;
}

/** refuses an action that needs keys the host does not hold */
export function requireKeys(e: Entry): void {
  const missing = missingKeys(e, null);
  if (missing.length) throw new IntegrityStudioError(`${e.name}: Unlock it first (${missingWords(missing)})`, 'EKEY');
}

/**
 * Checks what can be checked of keys and algorithms against the disk. Throws when a key is certainly wrong;
 * returns a labelled guess when a sample of blocks all fail their tags, null otherwise.
 */
export function checkKeys(p: string, o: OpenOptionsInfo, keys: Keys): string | null {
  const vo = engineOptions(o, keys);
  const sbVol = openVolume(p, { dataDevice: vo.dataDevice, superblockOnly: true });
  let flags: number;
  try {
    flags = sbVol.sb.flags;
    if (flags & SB_FLAG_HAVE_JOURNAL_MAC && !o.journal_integrity) {
      throw new IntegrityStudioError('this volume has a journal MAC (have_journal_mac): choose its Journal integrity algorithm and give its key');
    }
    if (!(flags & SB_FLAG_HAVE_JOURNAL_MAC) && o.journal_integrity) {
      throw new IntegrityStudioError('this volume has no journal MAC, but a Journal integrity algorithm was given: choose none');
    }
    if (o.journal_crypt && keys.journalCrypt) journalCipher(o.journal_crypt, keys.journalCrypt.length);
    if (flags & SB_FLAG_HAVE_JOURNAL_MAC && flags & SB_FLAG_FIXED_HMAC && keys.journalIntegrity) {
      try {
        checkSuperblockMac(sbVol.meta, sbVol.sb, vo);
      } catch {
        throw new IntegrityStudioError(
          `the journal integrity key does not match the superblock's MAC: the key or the journal integrity algorithm (${o.journal_integrity}) is wrong`,
          'EKEY',
        );
      }
    }
  } finally {
    sbVol.close();
  }
  const need = keysRequired(o, flags);
  if ((need.journalIntegrity && !keys.journalIntegrity) || (need.journalCrypt && !keys.journalCrypt)) return null;
  if (need.integrity && !keys.integrity) return null;
  // another process writes it: its blocks may be between their data and tag writes, so no sample now
  if (lockHolder(p)) return null;
  const vol = openVolume(p, { ...vo, superblockOnly: true, readOnly: true });
  try {
    if (o.journal_crypt) {
      const j = journalOnDisk(vol, o.mode);
      if (j.unreadable && /commit id/.test(j.unreadable)) {
        throw new IntegrityStudioError(
          `the journal encryption key or algorithm (${o.journal_crypt}) does not decrypt the journal (its commit ids are not valid)`,
          'EKEY',
        );
      }
    }
    return sampleCheck(vol);
  } finally {
    vol.close();
  }
}

/** Blocks checked by the key/algorithm sample at add/unlock/edit: 16 places × up to 64 blocks. */
const SAMPLE_PLACES = 16;
const SAMPLE_BLOCKS = 64;

/**
 * A guess about a wrong integrity algorithm or key: verifies a small sample of blocks spread over the volume
 * (a wiped volume's unwritten blocks carry tags too). When every checked one fails, the algorithm or key is
 * probably wrong; a real scrub tells for sure.
 */
export function sampleCheck(vol: Volume): string | null {
  const g = vol.geometry;
  const t = vol.target;
  const spb = g.sectors_per_block;
  const blocks = Math.floor(g.provided_data_sectors / spb);
  const before = { ...t.stats };
  for (let i = 0; i < SAMPLE_PLACES; i++) {
    const first = Math.floor((blocks * i) / SAMPLE_PLACES);
    const s = first * spb;
    if (s >= g.provided_data_sectors) break;
    const n = t.contiguousRun(s, Math.min(SAMPLE_BLOCKS * spb, g.provided_data_sectors - s));
    t.verify(s, n, () => undefined);
  }
  const checked = t.stats.checked_blocks - before.checked_blocks;
  const bad = t.stats.mismatched_blocks - before.mismatched_blocks;
  if (checked > 0 && bad === checked) {
    return `probably wrong (a guess): all ${checked} sampled blocks fail their tags with ${vol.hasher.algorithm}${vol.hasher.keyed ? ' and the key given' : ''} — check the integrity algorithm${vol.hasher.keyed ? ' and key' : ''}, or run a scrub to know for sure`;
  }
  return null;
}
