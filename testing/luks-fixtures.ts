// Test helper: the cryptsetup-made LUKS2 headers in testing/data/luks (manifest.json says how each was made),
// unpacked into a fresh temporary folder per call so tests can corrupt their copy.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { PROJECT_ROOT } from './golden.js';

export const LUKS_FIXTURES = path.join(PROJECT_ROOT, 'testing', 'data', 'luks');

export interface LuksFixture {
  file: string;
  made: string;
  passphrase: string;
  volumeKey: string;
  luksDump: string;
  keyFile?: { file: string; keyslot: number; offset?: number; size?: number };
}

export function luksFixtures(): Record<string, LuksFixture> {
  return JSON.parse(fs.readFileSync(path.join(LUKS_FIXTURES, 'manifest.json'), 'utf8')).images;
}

/** Unpacks fixture `name` into a new temporary folder; returns the image path. */
export function unpackLuksFixture(name: string, dir = fs.mkdtempSync(path.join(os.tmpdir(), 'luks-fx-'))): string {
  const fx = luksFixtures()[name];
  if (!fx) throw new Error(`no LUKS fixture ${name}`);
  const out = path.join(dir, `${name}.luks2`);
  fs.writeFileSync(out, zlib.gunzipSync(fs.readFileSync(path.join(LUKS_FIXTURES, fx.file))));
  return out;
}
