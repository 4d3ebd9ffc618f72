// Small option readers shared by the CLI commands (engine/cli/main.ts, engine/cli/format.ts).
import { IntegrityStudioError } from '../errors.js';
import { readKeyFile } from '../volume.js';

/** The journal MAC and encryption options, the same in format and open (integritysetup's names). */
export const JOURNAL_KEY_OPTIONS = {
  'journal-integrity': { type: 'string' },
  'journal-integrity-key-file': { type: 'string' },
  'journal-integrity-key-size': { type: 'string' },
  'journal-crypt': { type: 'string' },
  'journal-crypt-key-file': { type: 'string' },
  'journal-crypt-key-size': { type: 'string' },
} as const;

export type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** A whole-number option, or undefined when absent; anything else is one clear error. */
export function intOpt(v: Values, name: string): number | undefined {
  const s = v[name];
  if (s === undefined) return undefined;
  if (typeof s !== 'string' || !/^\d+$/.test(s)) throw new IntegrityStudioError(`--${name} takes a whole number, not "${String(s)}"`);
  return Number(s);
}

export function str(v: Values, name: string): string | undefined {
  const s = v[name];
  return typeof s === 'string' ? s : undefined;
}

/** The three keys integritysetup takes as files (--integrity-, --journal-integrity-, --journal-crypt-key-file). */
export function keyFiles(v: Values): { integrityKey?: Buffer; journalIntegrityKey?: Buffer; journalCryptKey?: Buffer } {
  const read = (opt: string, what: string) => {
    const f = str(v, `${opt}-key-file`);
    return f ? readKeyFile(f, intOpt(v, `${opt}-key-size`), what) : undefined;
  };
  return {
    integrityKey: read('integrity', 'integrity key'),
    journalIntegrityKey: read('journal-integrity', 'journal integrity key'),
    journalCryptKey: read('journal-crypt', 'journal crypt key'),
  };
}
