// The project's version, from package.json (one place for the CLI's --version and the host's status).
import fs from 'node:fs';

let cached: string | null = null;

export function version(): string {
  if (cached) return cached;
  try {
    const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    cached = pkg.version ?? 'unknown';
  } catch {
    cached = 'unknown';
  }
  return cached;
}
