// The renderer's pure pieces: byte offsets of bad ranges against the engine's own layout (get_data_sector), range
// wording with units, exports, shell quoting, the words for states and scrub results, and the forms' checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeGeometry, dataSector } from '../../engine/layout/geometry.js';
import { describeRange, imageExtents, physicalSector } from './lib/ranges.js';
import { commandLine, shellQuote } from './lib/shell.js';
import { summarize } from './lib/states.js';
import { formatCount, formatDuration } from './lib/format.js';
import { DEFAULT_FORM, formatCommand, openCommand, toRequest, validateForm } from './forms/create-form.js';
import { DEFAULT_OPEN, JOURNAL_CRYPT_CIPHERS, openRequest, validateOpen } from './forms/open-options.js';
import { inFormWords } from './forms/words.js';
import { verification, vol } from './test-fixtures.js';

test('physicalSector matches the engine (dataSector) across interleave areas, block sizes and a meta device', () => {
  for (const [log2_interleave_sectors, log2_sectors_per_block, meta_dev] of [
    [15, 0, false],
    [3, 0, false],
    [10, 3, false],
    [15, 0, true],
  ] as const) {
    const g = computeGeometry({
      tag_size: 4,
      log2_sectors_per_block,
      log2_interleave_sectors,
      journal_sections: 2,
      provided_data_sectors: 1 << 17,
      flags: 0x18,
      meta_dev,
    });
    for (const s of [0, 1, 7, 8, 1023, 1024, 32767, 32768, 65543, (1 << 17) - 1]) {
      assert.equal(physicalSector({ log2_interleave_sectors }, g, s), dataSector(g, s), `sector ${s} (il 2^${log2_interleave_sectors}, meta ${meta_dev})`);
    }
  }
  // golden i: sector 10 was corrupted at image byte 230500 = 450 × 512 + 100 (initial 184, metadata run 256)
  assert.equal(physicalSector({ log2_interleave_sectors: 15 }, { initial_sectors: 184, metadata_run: 256, meta_dev: false }, 10) * 512, 230400);
  // a range across an area boundary is two extents
  const x = imageExtents({ log2_interleave_sectors: 3 }, { initial_sectors: 8, metadata_run: 1, meta_dev: false }, 6, 10);
  assert.deepEqual(x, [
    { first_byte: (8 + 1 + 6) * 512, last_byte: (8 + 1 + 8) * 512 - 1 },
    { first_byte: (8 + 8 + 2) * 512, last_byte: (8 + 8 + 2 + 2) * 512 - 1 },
  ]);
});

test('ranges: the unit named, one sector not written as a span, blocks with their sectors on 4096-byte volumes', () => {
  assert.equal(describeRange(100, 101, 1), 'sector 100');
  assert.equal(describeRange(100, 108, 1), 'sectors 100–107');
  assert.equal(describeRange(80, 88, 8), 'block 10 (sectors 80–87)');
  assert.equal(describeRange(80, 96, 8), 'blocks 10–11 (sectors 80–95)');
  assert.equal(describeRange(1204232, 1204233, 1), 'sector 1,204,232');
  // a 4096-byte-block volume: the byte extents of blocks 10–11 in the image, both ends included
  const sb = { ...vol('a').superblock!, log2_sectors_per_block: 3 },
    g = { ...vol('a').geometry!, block_size: 4096 };
  assert.deepEqual(imageExtents(sb, g, 80, 96), [{ first_byte: (184 + 256 + 80) * 512, last_byte: (184 + 256 + 96) * 512 - 1 }]);
});

test('shell quoting: a POSIX shell reads back every word', () => {
  assert.equal(shellQuote('ctr(aes)'), "'ctr(aes)'");
  assert.equal(shellQuote('/tmp/my vol.img'), "'/tmp/my vol.img'");
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
  assert.equal(shellQuote('--journal-crypt'), '--journal-crypt');
  assert.equal(commandLine(['a', 'b c']), "a 'b c'");
});

test('states: clean only when every block was checked; unchecked blocks counted and named; the suspect hint is a guess', () => {
  const clean = summarize({
    ...vol('a'),
    verification: verification({ scrub: 'finished', finished_at: '2026-12-02T10:00:00Z', duration_ms: 4200, checked_blocks: 32768 }),
  });
  assert.match(clean.result, /^checked 32,768 of 32,768 blocks: no bad blocks, no read errors$/);
  assert.match(clean.scan, /finished .* after 4 s/);
  assert.equal(clean.action, null);
  const partial = summarize({
    ...vol('a'),
    verification: verification({
      scrub: 'finished',
      checked_blocks: 12000,
      unchecked_blocks: 1204232,
      unchecked: [{ reason: 'recalculating', blocks: 1204232 }],
    }),
  });
  assert.match(partial.result, /1,204,232 blocks not checked/);
  assert.deepEqual(partial.unchecked, ['1,204,232 blocks being recalculated (at or past the recalc sector)']);
  assert.match(partial.action!, /Finish the recalculation/);
  const suspect = summarize({
    ...vol('a'),
    verification: verification({ scrub: 'finished', checked_blocks: 100, bad_blocks: 100, suspect_algorithm_or_key: true }),
  });
  assert.equal(suspect.suspect, true);
  assert.match(suspect.action!, /algorithm and key/);
  assert.match(summarize(vol('a')).result, /not checked/);
  assert.equal(formatCount(1204232), '1,204,232');
  assert.equal(formatDuration(125_000), '2 min 5 s');
});

test('create form: size empty by default, messages name the controls, every journal cipher, commands quoted', () => {
  assert.equal(DEFAULT_FORM.sizeMiB, '');
  assert.deepEqual(Object.keys(validateForm({ ...DEFAULT_FORM, path: '/x.img' })), []);
  assert.equal(toRequest({ ...DEFAULT_FORM, path: '/x.img' }).size, undefined);
  const bad = validateForm({
    ...DEFAULT_FORM,
    path: '',
    sizeMiB: 'x',
    tagSize: '300',
    sectorSize: '1000',
    interleaveSectors: '12',
    integrity: 'hmac-sha256',
    integrityRecalculate: true,
    journalCrypt: 'xts-aes',
  });
  assert.match(bad.path!, /^Image path: required/);
  assert.match(bad.sizeMiB!, /^Size \(MiB, only for a new image\): /);
  assert.match(bad.tagSize!, /^Tag size \(bytes\): 1 to 255/);
  assert.match(bad.sectorSize!, /power of two/);
  assert.match(bad.interleaveSectors!, /power of two from 8/);
  assert.match(bad.integrityKey!, /^Integrity key: required/);
  assert.match(bad.journalCryptKey!, /^Journal encryption key: required/);
  assert.match(bad.integrityRecalculate!, /Do not wipe/);
  for (const m of Object.values(bad)) assert.doesNotMatch(m!, /--/);
  assert.deepEqual([...JOURNAL_CRYPT_CIPHERS], ['ctr-aes', 'cbc-aes', 'xts-aes', 'ecb-aes', 'chacha20']);
  const f = {
    ...DEFAULT_FORM,
    path: '/tmp/my vol.img',
    sizeMiB: '16',
    integrity: 'hmac-sha256',
    integrityKey: { source: 'hex' as const, hex: 'ab'.repeat(32), file: '' },
    journalIntegrity: 'hmac-sha256',
    journalIntegrityKey: { source: 'file' as const, hex: '', file: '/keys/j mac' },
    journalCrypt: 'ctr-aes',
    journalCryptKey: { source: 'hex' as const, hex: 'cd'.repeat(32), file: '' },
    sectorSize: '4096',
    noWipe: true,
    integrityRecalculate: true,
    mode: 'bitmap' as const,
  };
  assert.equal(
    formatCommand(f),
    "truncate -s 16M '/tmp/my vol.img'\nintegritysetup format '/tmp/my vol.img' --integrity hmac-sha256 --integrity-key-file KEYFILE --integrity-key-size 32 --journal-integrity hmac-sha256 --journal-integrity-key-file '/keys/j mac' --journal-integrity-key-size KEY_BYTES --journal-crypt ctr-aes --journal-crypt-key-file JCRYPT_KEYFILE --journal-crypt-key-size 32 --integrity-bitmap-mode --sector-size 4096 --no-wipe --integrity-recalculate",
  );
  assert.doesNotMatch(formatCommand(f), /abab|cdcd/);
  const r = toRequest(f);
  assert.equal(r.size, 16 << 20);
  assert.deepEqual(r.integrityKey, { hex: 'ab'.repeat(32) });
  assert.deepEqual(r.journalIntegrityKey, { file: '/keys/j mac' });
  assert.equal(r.journalCrypt, 'ctr-aes');
  assert.match(
    openCommand('/x', { ...DEFAULT_OPEN, allowDiscards: true, mode: 'bitmap', bitmapSectorsPerBit: '65536', bitmapFlushTimeMs: '5000' }),
    /--integrity-bitmap-mode --allow-discards --bitmap-sectors-per-bit 65536 --bitmap-flush-time 5000$/,
  );
});

test('open options: keys optional on Edit, a key for an unkeyed algorithm refused, bitmap tuning checked', () => {
  assert.deepEqual(validateOpen({ ...DEFAULT_OPEN, integrity: 'hmac-sha256' }, { keysOptional: true }), {});
  assert.match(validateOpen({ ...DEFAULT_OPEN, integrityKey: { source: 'hex', hex: 'ab', file: '' } }).integrityKey!, /crc32c takes no key/);
  assert.match(
    validateOpen({ ...DEFAULT_OPEN, integrity: 'hmac-sha1', integrityKey: { source: 'hex', hex: 'abc', file: '' } }).integrityKey!,
    /hex digits only/,
  );
  assert.match(validateOpen({ ...DEFAULT_OPEN, bitmapSectorsPerBit: '1000' }).bitmapSectorsPerBit!, /power of two/);
  assert.deepEqual(openRequest({ ...DEFAULT_OPEN, dataDevice: ' /dev/x ' }), {
    integrity: 'crc32c',
    mode: 'journal',
    allowDiscards: false,
    dataDevice: '/dev/x',
  });
});

test("host messages in the form's words: CLI flags become control labels, raw ENOENT a sentence", () => {
  assert.equal(
    inFormWords('--size is needed for a new image; --force to format over data'),
    '“Size (MiB, only for a new image)” is needed for a new image; “Format and erase it” to format over data',
  );
  assert.equal(inFormWords("ENOENT: no such file or directory, lstat '/nope/x.img'"), 'no such file or folder: /nope/x.img (check that its folder exists)');
});
