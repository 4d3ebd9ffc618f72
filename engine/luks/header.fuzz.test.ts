// Fuzz: mutated cryptsetup headers (raw bytes, and JSON edits re-checksummed so the validator sees them) give a
// typed error or a valid Luks2Info — never another exception, a hang, or a write.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { MemoryDevice } from '../io/device.js';
import { prng } from '../io/fault.js';
import { FormatError, IntegrityStudioError } from '../errors.js';
import { readLuks2HeaderFrom, headerChecksum, OFF, LUKS2_HDR_BIN_LEN } from './header.js';
import { unlockLuks2, NoKeyError } from './index.js';
import { luksFixtures, unpackLuksFixture } from '../../testing/luks-fixtures.js';
import { must, nth } from '../../testing/must.js';

const HS = 16384;

function check(img: Buffer, what: string): void {
  const before = Buffer.from(img);
  const dev = new MemoryDevice(img, true, 'fuzz');
  try {
    const info = readLuks2HeaderFrom(dev);
    assert.ok(info.primary.valid || info.secondary.valid, what);
  } catch (e) {
    assert.ok(e instanceof FormatError || e instanceof IntegrityStudioError, `${what}: ${(e as Error).stack}`);
    assert.ok((e as Error).message.length > 0 && !(e as Error).message.includes('undefined'), `${what}: ${(e as Error).message}`);
  }
  assert.equal(dev.writes, 0);
  assert.ok(img.equals(before));
}

/** rewrites copy at `off` with new JSON text and a valid checksum */
function setJson(img: Buffer, off: number, text: string): void {
  const area = img.subarray(off + LUKS2_HDR_BIN_LEN, off + HS);
  area.fill(0);
  Buffer.from(text).copy(area, 0, 0, Math.min(Buffer.byteLength(text), area.length));
  const bin = img.subarray(off, off + LUKS2_HDR_BIN_LEN);
  headerChecksum('sha256', bin, area).copy(bin, OFF.csum);
}

function mutateJson(rand: () => number, j: unknown, depth = 0): unknown {
  const pick = <T>(a: T[]): T => nth(a, Math.floor(rand() * a.length));
  const weird = [null, -1, 1e300, '18446744073709551616', '99999999999999999999', '-5', '', 'dynamic', [], {}, true, '0', 0, 4096, 'x'.repeat(50)];
  if (j && typeof j === 'object' && rand() < 0.8 && depth < 6) {
    const o = j as Record<string, unknown>;
    const keys = Object.keys(o);
    if (!keys.length) return pick(weird);
    const k = pick(keys);
    const r = rand();
    if (r < 0.15) delete o[k];
    else if (r < 0.25) o[String(Math.floor(rand() * 40))] = structuredClone(o[k]);
    else o[k] = mutateJson(rand, o[k], depth + 1);
    return j;
  }
  return pick(weird);
}

test('fuzz: 400 byte-level and 600 JSON-level mutations of cryptsetup headers', () => {
  const names = Object.keys(luksFixtures());
  const bases = names.map((n) => fs.readFileSync(unpackLuksFixture(n)));
  const rand = prng(20261202);
  for (let i = 0; i < 400; i++) {
    const img = Buffer.from(nth(bases, i % bases.length, 'fixture'));
    const n = 1 + Math.floor(rand() * 8);
    for (let k = 0; k < n; k++) {
      const pos = rand() < 0.5 ? Math.floor(rand() * 512) : Math.floor(rand() * 2 * HS);
      img[pos] = Math.floor(rand() * 256);
    }
    check(img, `byte mutation ${i}`);
  }
  for (let i = 0; i < 600; i++) {
    const img = Buffer.from(nth(bases, i % bases.length, 'fixture'));
    const area = img.subarray(LUKS2_HDR_BIN_LEN, HS);
    const json = JSON.parse(area.subarray(0, area.indexOf(0)).toString());
    const m = mutateJson(rand, json);
    const text = rand() < 0.05 ? JSON.stringify(m).slice(0, Math.floor(rand() * 200)) : JSON.stringify(m);
    setJson(img, 0, text);
    if (rand() < 0.5) setJson(img, HS, text);
    check(img, `json mutation ${i}: ${text.slice(0, 300)}`);
  }
});

test('fuzz: unlock on JSON-mutated headers fails with a typed error, never a crash', async () => {
  const fx = must(luksFixtures().a, 'fixture a');
  const base = fs.readFileSync(unpackLuksFixture('a'));
  const rand = prng(7);
  let opened = 0;
  for (let i = 0; i < 60; i++) {
    const img = Buffer.from(base);
    const area = img.subarray(LUKS2_HDR_BIN_LEN, HS);
    const json = JSON.parse(area.subarray(0, area.indexOf(0)).toString());
    const ks = json.keyslots['0'];
    const field = [
      () => (ks.key_size = Math.floor(rand() * 200)),
      () => (ks.area.key_size = Math.floor(rand() * 128)),
      () => (ks.kdf.iterations = 1 + Math.floor(rand() * 3)),
      () => (ks.af.hash = 'md4x'),
      () => (ks.area.encryption = 'serpent-xts-plain64'),
      () => (ks.area.offset = String(32768 + 4096 * Math.floor(rand() * 8))),
    ];
    nth(field, Math.floor(rand() * field.length), 'mutation')();
    setJson(img, 0, JSON.stringify(json));
    setJson(img, HS, JSON.stringify(json));
    try {
      await unlockLuks2(new MemoryDevice(img, true, 'fuzz'), { passphrase: Buffer.from(fx.passphrase) }, { keyslot: 0 });
      opened++;
    } catch (e) {
      assert.ok(e instanceof IntegrityStudioError || e instanceof NoKeyError, (e as Error).stack);
    }
  }
  assert.ok(opened < 60);
});
