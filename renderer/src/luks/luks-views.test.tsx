// The LUKS2 views rendered in node: a locked volume (the badge, the note with Unlock, the header read without a
// key, Start scrub unavailable, Edit of the name and speed limit only, no Resize), an unlocked one with failing sectors worded as the kernel logs them, the
// unlock form's masked passphrase, and the create form's commands without the passphrase.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderToStaticMarkup } from 'react-dom/server';
import type { LuksInfo } from '../../../engine/api.js';
import { createDashboardStore } from '../store.js';
import { VolumePage } from '../volume/VolumePage.js';
import { verification, vol } from '../test-fixtures.js';
import { LuksUnlockForm } from './LuksUnlockForm.js';
import { LuksCreateVolumeForm } from './LuksCreateForm.js';
import { DEFAULT_LUKS_FORM } from './luks-form.js';

const luks = (locked: boolean): LuksInfo => ({
  uuid: 'b79ca593-1965-4f57-9ccf-158f3b631e31',
  label: '',
  cipher: 'aes-xts-random',
  integrity: 'hmac(sha256)',
  sector_size: 512,
  volume_key_bits: 768,
  data_offset: 1048576,
  keyslots: [{ id: 0, type: 'luks2', key_bits: 768, priority: 'normal', cipher: 'aes-xts-plain64', kdf: 'argon2id', time: 4, memory_kib: 65536, threads: 2 }],
  damaged: [],
  dump: 'LUKS header information\n',
  locked,
});
const page = (v: ReturnType<typeof vol>) =>
  renderToStaticMarkup(
    <VolumePage v={v} d={createDashboardStore().getState()} onNavigate={() => {}} exporter={{ kind: 'link', href: (id, f) => `/export/${id}.${f}` }} />,
  );

test('locked LUKS2 volume: badge, note with Unlock, header without a key, no Start scrub, Edit (name, speed limit) but no Resize', () => {
  const html = page(vol('l', { state: 'locked', conditions: ['locked', 'not-checked'], algorithm: 'aes-xts-random + hmac(sha256)', luks: luks(true) }));
  assert.match(html, /badge-locked[^>]*>locked</);
  assert.match(html, /Locked: the host does not hold this LUKS2 volume/);
  assert.match(html, /href="#\/volume\/l\/unlock"/);
  assert.match(html, /time 4, memory 65,536 KiB, 2 threads/);
  assert.match(html, /768 bits · not held by the host \(locked\)/);
  assert.match(html, /Unlock it with its passphrase, then start a scrub to check every sector\./);
  assert.match(html, /aria-disabled="true"[^>]*>Start scrub</);
  assert.match(html, /href="#\/volume\/l\/edit"[^>]*>Edit…</);
  assert.doesNotMatch(html, />Resize…</);
  assert.doesNotMatch(html, /Start recalculation/);
});

test("unlocked LUKS2 volume with failing sectors: the kernel's lines, ranges, encryption-sector words", () => {
  const html = page(
    vol('u', {
      state: 'errors',
      conditions: ['errors'],
      error_count: 3,
      bad_ranges: [
        [100, 101],
        [300, 302],
      ],
      luks: luks(false),
      verification: verification({
        scrub: 'finished',
        total_blocks: 952,
        checked_blocks: 952,
        bad_blocks: 3,
        bad_ranges: [
          [100, 101],
          [300, 302],
        ],
      }),
    }),
  );
  // the kernel's lines, every sector of each range (range by range)
  assert.match(html, /aead-lines">INTEGRITY AEAD ERROR, sector 100</);
  assert.match(html, /aead-lines">INTEGRITY AEAD ERROR, sector 300\nINTEGRITY AEAD ERROR, sector 301</);
  assert.match(html, /sectors 300–301/);
  assert.match(html, /checked 952 of 952 encryption sectors: 3 failing sectors, no read errors/);
  assert.match(html, /listed under Sectors failing authentication cannot be trusted/);
});

test('unlock form: the passphrase masked; create form: commands never hold it', () => {
  const u = renderToStaticMarkup(<LuksUnlockForm v={vol('l', { luks: luks(true) })} onSubmit={async () => {}} onCancel={() => {}} />);
  assert.match(u, /id="luks-unlock-pass" type="password"/);
  assert.match(u, /keyslots 0 \(argon2id\)/);
  // the form as it is once a passphrase has been typed twice: its state starts from DEFAULT_LUKS_FORM (no DOM here to
  // type into, so the typed values are put there for this render and taken out after)
  const pass = 'correct horse battery staple 42';
  const typed = { path: '/srv/vol.img', passphrase: pass, passphrase2: pass };
  const saved = { ...DEFAULT_LUKS_FORM };
  Object.assign(DEFAULT_LUKS_FORM, typed);
  let c: string;
  try {
    c = renderToStaticMarkup(<LuksCreateVolumeForm onSubmit={async () => {}} onPlain={() => {}} />);
  } finally {
    Object.assign(DEFAULT_LUKS_FORM, saved);
  }
  assert.match(
    c,
    /cryptsetup luksFormat --type luks2 --cipher aes-xts-random --integrity hmac-sha256 --key-size 512 --sector-size 4096 --pbkdf argon2id \/srv\/vol\.img/,
  );
  // the passphrase is held by exactly the two masked fields, and nowhere else on the form (commands included)
  const fields = [...c.matchAll(/<input id="l-pass2?" type="password"[^>]*>/g)].map((m) => m[0]);
  assert.equal(fields.length, 2);
  for (const f of fields) assert.match(f, new RegExp(`value="${pass}"`));
  const rest = fields.reduce((h, f) => h.replace(f, ''), c);
  const cmds = [...c.matchAll(/<pre class="cmd"[^>]*>([^<]*)<\/pre>/g)].map((m) => m[1]!);
  assert.equal(cmds.length, 2, 'the cryptsetup and integrity-studio commands are on the form');
  for (const form of [pass, pass.replace(/ /g, '\\ '), `'${pass}'`, Buffer.from(pass).toString('hex'), Buffer.from(pass).toString('base64')]) {
    assert.ok(!rest.includes(form), `the passphrase (${form}) outside its two fields`);
  }
  assert.ok(!rest.includes('horse battery'), 'no part of it either');
});
