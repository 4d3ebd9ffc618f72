import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { integrityMessage, messagesFor, parseKmsgRecord } from './kmsg.js';
import { TESTDATA } from '../../testing/live-fixtures.js';

const records = fs
  .readFileSync(path.join(TESTDATA, 'kmsg.txt'), 'utf8')
  .split('\n')
  .filter((l) => l && !l.startsWith('#'))
  .map((l) => parseKmsgRecord(l)!);

test('kernel records captured in the guests parse (priority, sequence, time, text)', () => {
  assert.equal(records.length, 20);
  assert.deepEqual(records[1], { priority: 3, seq: 391, usec: 8887213, text: 'device-mapper: integrity: dm-0: Checksum failed at sector 0x4403' });
  assert.equal(parseKmsgRecord('not a record'), null);
  assert.equal(parseKmsgRecord('6,1,2,-;first line\n SUBSYSTEM=block')?.text, 'first line');
});

test("dm-integrity's checksum failures and dm-crypt's AEAD errors, with their sectors", () => {
  const found = records.map(integrityMessage).filter((m) => m !== null);
  assert.equal(found.length, 17, 'every failure line, no EXT4 line');
  assert.deepEqual(found.map((m) => [m!.kind, m!.device, m!.sector]).slice(0, 4), [
    ['checksum', 'dm-0', 0x4403],
    ['checksum', 'dm-0', 0x4403],
    ['checksum', 'dm-0', 0x4403],
    ['aead', 'dm-0', 801],
  ]);
  // 0x4403 = 17411: the logical sector of the integrity device that was corrupted (the file's block + 1 sector)
  assert.equal(found[0]!.sector, 17411);
  assert.deepEqual(
    integrityMessage({ priority: 3, seq: 1, usec: 1, text: 'device-mapper: integrity: dm-2: Checksum failed when reading from journal, at sector 0x10' }),
    {
      kind: 'journal-checksum',
      device: 'dm-2',
      sector: 16,
      seq: 1,
      usec: 1,
      text: 'device-mapper: integrity: dm-2: Checksum failed when reading from journal, at sector 0x10',
    },
  );
});

test('filtered for a device by its kernel names', () => {
  assert.equal(messagesFor(records, ['dm-0']).length, 17);
  assert.equal(messagesFor(records, ['dm-1', 'dm-2']).length, 0);
});
