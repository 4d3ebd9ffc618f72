// Command lines as a POSIX shell reads them: every word that is not plain is single-quoted
// (`--journal-crypt 'ctr(aes)'`, `'/tmp/my vol.img'`). Pure.
const PLAIN = /^[\w./:@%+=,-]+$/;

export function shellQuote(word: string): string {
  if (PLAIN.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export function commandLine(words: readonly string[]): string {
  return words.map(shellQuote).join(' ');
}
