// Words shared by the CLI and the dashboard host, so both say the same thing about the same finding.

/**
 * Every checked block failed: the algorithm or key, not the data, is the likely cause (a guess, and worded as
 * one). `remedy` names what to do in the words of the interface (CLI flags, or the dashboard's Edit / Unlock).
 */
export function everyBlockFailedHint(algorithm: string, keyed: boolean, remedy: string): string {
  return `every checked block failed: the integrity algorithm (${algorithm}${keyed ? ' and its key' : ''}) is probably wrong — the algorithm and keys are not stored on disk; ${remedy}`;
}

export const CLI_ALGORITHM_REMEDY = 'give the ones used at format (--integrity, --integrity-key-file)';
export const DASHBOARD_ALGORITHM_REMEDY = 'use Edit to give the algorithm used at format, or Unlock with the key used at format';
