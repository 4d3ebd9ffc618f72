// The table and status decoders on the lines the 6.1, 6.12 and 7.2 kernels printed (testing/data/live/<release>.txt).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { editKeyedTable, parseCryptTable, parseIntegrityTable, redactTableLine, sedForEdit, type FlagOption } from './table.js';
import { capture, lineOf, RELEASES, section } from '../../testing/live-fixtures.js';

const KEYS = [
  '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff',
  'ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100',
  '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
];

for (const release of RELEASES) {
  const c = capture(release);
  const kernel = section(c, 'uname')[0];

  test(`[${kernel}] every integrity line decodes, keys redacted, options as given at open`, () => {
    for (const sec of ['table', 'table-showkeys']) {
      for (const l of section(c, sec).filter((x) => / integrity /.test(x))) {
        const t = parseIntegrityTable(l);
        for (const k of KEYS) assert.ok(!t.line.includes(k) && !JSON.stringify(t).includes(k), `${sec}: key left in ${t.line}`);
        assert.equal(t.unknown.length, 0, `unknown options in ${l}`);
        assert.equal(t.line.split(' ').length, Number(l.split(' ')[8]) + 8, 'every option kept');
      }
    }
    const t = (name: string) => parseIntegrityTable(lineOf(c, 'table-showkeys', name));
    const bb = t('bb');
    assert.deepEqual(
      [bb.mode, bb.options.sectors_per_bit, bb.options.bitmap_flush_interval, bb.options.internal_hash],
      ['B', 8192, 5000, { name: 'crc32c', keyed: false }],
    );
    const hm = t('hm');
    assert.deepEqual([hm.mode, hm.tag_size, hm.options.allow_discards, hm.options.fix_hmac], ['J', 32, true, true]);
    assert.deepEqual(hm.options.internal_hash, { name: 'hmac(sha256)', keyed: true, keyBytes: 32 });
    assert.deepEqual(hm.options.journal_mac, { name: 'hmac(sha256)', keyed: true, keyBytes: 32 });
    assert.match(hm.line, / internal_hash:hmac\(sha256\):<key> journal_mac:hmac\(sha256\):<key>$/);
    assert.deepEqual(t('jc').options.journal_crypt, { name: 'ctr(aes)', keyed: true, keyBytes: 32 });
    const dd = t('dd');
    assert.deepEqual([dd.mode, dd.options.block_size, dd.options.journal_watermark], ['D', 4096, undefined]);
    assert.equal(t('rr').mode, 'R');
    const md = t('md');
    assert.equal(md.options.meta_device, '254:96');
    assert.equal(md.device, '254:112');
    assert.equal(md.options.interleave_sectors, 1);
    assert.equal(md.options.fix_padding, false);
    const rc = t('rc');
    assert.deepEqual([rc.options.recalculate, rc.options.reset_recalculate], [true, true]);
    const lg = t('lg');
    assert.deepEqual([lg.options.recalculate, lg.options.legacy_recalculate, lg.options.journal_mac], [true, true, undefined]);
    const dif = t('lk_dif');
    assert.deepEqual([dif.offset, dif.tag_size, dif.options.internal_hash, dif.options.fix_hmac], [32768, 32, undefined, false]);
    const ja = t('ja');
    assert.deepEqual(
      [ja.start, ja.length, ja.device, ja.options.journal_watermark, ja.options.commit_time, ja.options.buffer_sectors],
      [0, 64664, '254:0', 50, 10000, 128],
    );
    // 7.2 prints journal_sectors after interleave/buffer sectors and not at all in bitmap, direct and recovery mode
    if (release === 'sid')
      assert.deepEqual([bb.options.journal_sectors, dd.options.journal_sectors, rr(c).options.journal_sectors], [undefined, undefined, undefined]);
    else assert.equal(bb.options.journal_sectors, 352);
  });

  test(`[${kernel}] a table read with --showkeys is redacted by every path that shows it`, () => {
    for (const l of section(c, 'table-showkeys')) {
      const shown = redactTableLine(l);
      for (const k of KEYS) assert.ok(!shown.includes(k), shown);
    }
    const crypt = parseCryptTable(lineOf(c, 'table-crypt', 'lk'));
    assert.equal(crypt.cipher, 'capi:authenc(hmac(sha256),xts(aes))-plain64');
    assert.equal(crypt.key, 'keyring');
    assert.equal(crypt.integrity, 'integrity:32:aead');
    assert.equal(crypt.sector_size, 512);
    assert.ok(!crypt.line.includes(':96:logon:'), 'the keyring reference is not shown either');
  });

  test(`[${kernel}] a keyed reload edit copies the keys as bytes, and the shown sed makes the same edit`, () => {
    const edits: Array<[string, { add?: FlagOption[]; remove?: FlagOption[] }]> = [
      ['hm', { add: ['recalculate'] }],
      ['jc', { add: ['recalculate', 'reset_recalculate'] }],
      ['rc', { remove: ['reset_recalculate'] }],
    ];
    for (const [name, edit] of edits) {
      const keyed = Buffer.from(lineOf(c, 'table-showkeys', name) + '\n');
      const next = editKeyedTable(keyed, edit);
      const t = parseIntegrityTable(next.toString());
      for (const f of edit.add ?? []) assert.equal(t.options[f], true);
      for (const f of edit.remove ?? []) assert.equal(t.options[f], false);
      const before = parseIntegrityTable(keyed.toString());
      // every key still in the new line, byte for byte
      for (const k of KEYS) assert.equal(keyed.includes(k), next.includes(k), `${name}: key ${k.slice(0, 8)}…`);
      const sed = sedForEdit(before, edit);
      const r = spawnSync(sed[0]!, sed.slice(1), { input: keyed, encoding: 'buffer' });
      assert.equal(r.status, 0, r.stderr.toString());
      const bySed = parseIntegrityTable(r.stdout.toString());
      assert.deepEqual(bySed.options, t.options, `${name}: sed ${sed.join(' ')}`);
      assert.equal(bySed.line.split(' ').length, t.line.split(' ').length);
      assert.equal(r.stdout.toString().split(' ')[7], next.toString().split(' ')[7], 'the same argument count');
    }
  });
}

function rr(c: Map<string, string[]>) {
  return parseIntegrityTable(lineOf(c, 'table', 'rr'));
}

test('malformed lines are refused with one clear error, never half decoded', () => {
  assert.throws(() => parseIntegrityTable('0 100 linear 254:0 0'), /not an integrity target/);
  assert.throws(() => parseIntegrityTable('0 100 integrity 254:0 0 4 X 0'), /unknown integrity mode/);
  assert.throws(() => parseIntegrityTable('0 100 integrity 254:0 0 4 J 3 fix_hmac'), /3 arguments announced, 1 present/);
  assert.throws(() => parseIntegrityTable('0 1e9 integrity 254:0 0 4 J 0'), /length is not a number/);
});

test('an unknown option keeps its name but loses a key-like value', () => {
  const t = parseIntegrityTable('0 8 integrity 254:0 0 4 J 2 future_flag future_key:aa00aa00aa00aa00aa00aa00aa00aa00');
  assert.deepEqual(t.unknown, ['future_flag', 'future_key:<key>']);
  assert.equal(redactTableLine('x: 0 8 crypt aes-xts-plain64 aa00aa00aa00aa00aa00aa00aa00aa00 0 254:0 0'), 'x: 0 8 crypt aes-xts-plain64 <key> 0 254:0 0');
});
