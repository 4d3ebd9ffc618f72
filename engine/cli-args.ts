// Small option readers shared by the CLI commands (engine/cli.ts, engine/format/cli-format.ts).
import { IntegrityStudioError } from './errors.js';

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
