// Shell words for the equivalent commands the UI shows (POSIX sh). The same rule as the host's open command.

/** One word: bare when it has no special character, else single-quoted. */
export function shellQuote(s: string): string {
  if (s === '') return "''";
  return /^[\w./:@%+=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export function shellCommand(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}

/** A pipeline of commands (`a | b`). */
export function shellPipeline(...commands: ReadonlyArray<readonly string[]>): string {
  return commands.map(shellCommand).join(' | ');
}

/** Hex runs long enough to be key material, removed from anything a tool printed before it is shown or logged. */
export function scrubSecrets(text: string): string {
  return text.replace(/[0-9a-fA-F]{32,}/g, '<hex>');
}

/** What a device-mapper tool said, in one line: its first meaningful lines, without the closing "Command failed." */
export function toolSaid(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^Command failed\.?$/.test(l));
  return scrubSecrets(lines.slice(0, 2).join('; ') || 'failed');
}
