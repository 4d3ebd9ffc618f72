// The dashboard's views rendered in node: badges for every condition, the partial result and the suspect guess,
// the job panels' single Start/Pause/Resume button, the sector map's states and tooltips, the chart's axes, the
// errors panel's units/offsets/what-now, the journal on disk, the forms' masked keys and labels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderToStaticMarkup } from 'react-dom/server';
import { createDashboardStore } from './store.js';
import { VolumeList } from './volume-list/VolumeList.js';
import { VolumePage } from './volume/VolumePage.js';
import { recalcView, scrubView } from './volume/JobPanel.js';
import { SectorMap, cellStates } from './charts/SectorMap.js';
import { RateChart } from './charts/RateChart.js';
import { CreateVolumeForm } from './forms/CreateVolumeForm.js';
import { AddVolumeForm } from './forms/AddVolumeForm.js';
import { UnlockForm } from './forms/UnlockForm.js';
import { EditVolumeForm } from './forms/EditVolumeForm.js';
import { DEFAULT_FORM } from './forms/create-form.js';
import { prog, verification, vol } from './test-fixtures.js';
import { FileItem, MetaItem } from './volume/DamageMap.js';
import type { DamageMapSummary } from '../../engine/api.js';

const d = () => createDashboardStore().getState();
/** one job panel of a page (JobPanel's <section aria-labelledby="recalc-h|scrub-h">), its heading checked */
function panel(html: string, kind: 'recalc' | 'scrub'): string {
  const start = html.indexOf(`<section aria-labelledby="${kind}-h"`);
  assert.ok(start >= 0, `the ${kind} panel is on the page`);
  const body = html.slice(start, html.indexOf('</section>', start));
  assert.match(body, new RegExp(`id="${kind}-h"[^>]*>${kind === 'recalc' ? 'Recalculation' : 'Scrub'}<`));
  return body;
}
const page = (v: ReturnType<typeof vol>) =>
  renderToStaticMarkup(<VolumePage v={v} d={d()} onNavigate={() => {}} exporter={{ kind: 'link', href: (id, f) => `/export/${id}.${f}` }} />);

test('volume list: conditions as badges, last check, links are addresses', () => {
  const v = vol('a', {
    state: 'partial',
    conditions: ['partial', 'recalc-paused'],
    verification: verification({ scrub: 'finished', finished_at: '2026-12-02T10:00:00Z', unchecked_blocks: 1204232 }),
  });
  const list = renderToStaticMarkup(<VolumeList volumes={[v]} onNavigate={() => {}} />);
  assert.match(list, /href="#\/volume\/a"/);
  assert.match(list, /badge-partial[^>]*>partial</);
  assert.match(list, /badge-recalc-paused[^>]*>recalc paused</);
  assert.match(list, /1,204,232 blocks not checked/);
  assert.match(list, /16\.0 MiB/);
});

test('volume page: partial is not clean; the suspect hint is labelled a guess; needs-key offers Unlock; Remove asks first', () => {
  const partial = page(
    vol('a', {
      state: 'partial',
      conditions: ['partial', 'recalc-paused'],
      superblock: { ...vol('a').superblock!, recalc_sector: 12000, flags: ['recalculating'] },
      verification: verification({
        scrub: 'finished',
        checked_blocks: 12000,
        unchecked_blocks: 20768,
        unchecked: [{ reason: 'recalculating', blocks: 20768 }],
      }),
    }),
  );
  assert.match(partial, /checked 12,000 of 32,768 blocks: no bad blocks, no read errors; 20,768 blocks not checked/);
  assert.match(partial, /20,768 blocks being recalculated/);
  assert.doesNotMatch(partial, /badge-clean/);
  const suspect = page(
    vol('b', {
      state: 'errors',
      conditions: ['errors'],
      error_count: 100,
      bad_ranges: [[0, 100]],
      verification: verification({ scrub: 'finished', checked_blocks: 100, bad_blocks: 100, suspect_algorithm_or_key: true }),
    }),
  );
  assert.match(suspect, /probably the wrong algorithm or key \(a guess/);
  const locked = page(
    vol('c', { state: 'needs-key', conditions: ['needs-key'], keys_required: { integrity: true, journalIntegrity: false, journalCrypt: false } }),
  );
  assert.match(locked, /href="#\/volume\/c\/unlock"[^>]*>Unlock…/);
  assert.match(locked, /<button type="button" class="secondary" aria-expanded="false">Remove from list<\/button>/);
});

test('job panels: one toggle button per job whose label follows the host; a finished recalculation reads from the superblock', () => {
  const running = page(
    vol('a', {
      superblock: { ...vol('a').superblock!, recalc_sector: 8192 },
      jobs: { recalc: prog({ state: 'running', position_sector: 8192 }), scrub: prog({ job: 'scrub', state: 'paused', position_sector: 16384 }) },
    }),
  );
  assert.match(running, /aria-label="Recalculation progress"[^>]*aria-valuenow="25"/);
  assert.match(running, />Pause recalculation</);
  assert.match(running, />Resume scrub</);
  assert.match(running, />Restart scrub from start</);
  assert.match(running, /8,192 \(live\)/);
  const v = vol('b', {
    runs: [
      {
        job: 'recalc',
        by: 'cli',
        started_at: '2026-12-02T09:00:00Z',
        ended_at: '2026-12-02T09:01:00Z',
        duration_ms: 60000,
        result: 'done',
        from_sector: 0,
        to_sector: 32768,
      },
    ],
  });
  assert.equal(recalcView(v).state, 'finished');
  assert.equal(recalcView(v).pct, 100);
  assert.equal(recalcView(vol('c')).state, 'not needed');
  assert.equal(recalcView(vol('c', { superblock: { ...vol('c').superblock!, recalc_sector: 100 } })).toggle.label, 'Resume recalculation');
  assert.equal(scrubView(vol('d', { verification: verification({ scrub: 'finished' }) })).state, 'finished');
  assert.equal(scrubView(vol('d')).toggle.label, 'Start scrub');
  const html = page(v);
  assert.match(html, /aria-label="Last recalculation runs"/);
  assert.match(html, /1 min 0 s/);
  assert.match(html, /<td>finished<\/td>/);
});

test('sector map: scrubbed, not yet scrubbed, recalculated, pending and bad cells with a tooltip and a legend', () => {
  const states = cellStates({ total: 64, sectorsPerBlock: 1, recalcAt: 48, scrubbedTo: 16, bad: [[40, 41]], cells: 8 }).map((c) => c.state);
  assert.deepEqual(states, ['scrubbed', 'scrubbed', 'recalculated', 'recalculated', 'recalculated', 'bad', 'pending', 'pending']);
  assert.deepEqual(
    cellStates({ total: 64, sectorsPerBlock: 1, recalcAt: null, scrubbedTo: 32, bad: [], cells: 4 }).map((c) => c.state),
    ['scrubbed', 'scrubbed', 'unscrubbed', 'unscrubbed'],
  );
  const map = renderToStaticMarkup(<SectorMap total={64} sectorsPerBlock={8} recalcAt={null} scrubbedTo={64} bad={[]} cells={4} />);
  assert.match(map, /title="sectors 0–15 \(blocks 0–1\): scrubbed"/);
  for (const l of ['scrubbed', 'not yet scrubbed', 'recalculated, not yet scrubbed', 'pending recalculation', 'bad'])
    assert.match(map, new RegExp(`</span> ${l}</li>`));
});

test('rate chart: axes with units always drawn, the same size with or without samples', () => {
  const empty = renderToStaticMarkup(<RateChart samples={[]} label="Scrub rate" idle="not running" />);
  const full = renderToStaticMarkup(
    <RateChart
      samples={[
        [0, 50 << 20],
        [1000, 100 << 20],
        [2000, 75 << 20],
      ]}
      label="Scrub rate"
    />,
  );
  for (const h of [empty, full]) {
    assert.match(h, /width="360" height="140"/);
    assert.match(h, /time since this run started/);
  }
  assert.match(empty, /not running/);
  assert.match(full, />MiB\/s</);
  assert.match(full, />2 s</);
  assert.match(full, />100</);
  assert.match(full, /<polyline/);
});

test('errors panel: units, byte offsets, time of the scrub, what now, export', () => {
  const html = page(
    vol('a', {
      state: 'errors',
      conditions: ['errors'],
      error_count: 1,
      bad_ranges: [[10, 11]],
      verification: verification({
        scrub: 'finished',
        started_at: '2026-12-02T10:00:00Z',
        finished_at: '2026-12-02T10:00:05Z',
        checked_blocks: 32768,
        bad_blocks: 1,
        bad_ranges: [[10, 11]],
      }),
    }),
  );
  assert.match(html, /data-testid="range">sector 10</);
  assert.match(html, /1 block · 1 sector/);
  assert.match(html, /230,400–230,911/);
  assert.match(html, /512 bytes per block/);
  assert.match(html, /found by the scrub that finished/);
  assert.match(html, /cannot be trusted/);
  assert.match(html, /restore these ranges from a backup/i);
  assert.match(html, /EILSEQ/);
  assert.match(html, />Export JSON</);
  assert.match(html, />Export CSV</);
});

test('journal panel: the journal on disk, and Replay asks first', () => {
  const html = page(
    vol('j', {
      state: 'journal-replay',
      conditions: ['journal-replay', 'not-checked'],
      journal_disk: {
        kind: 'journal',
        sections: 46,
        section_entries: 168,
        committed_entries: 320,
        committed_sections: 2,
        commit_seq: 1,
        fill: 320 / (46 * 168),
        torn_entries: 0,
      },
    }),
  );
  assert.match(html, /data-testid="journal-committed">320 entries in 2 sections/);
  assert.match(html, /Commit sequence<\/dt><dd>1</);
  assert.match(html, /aria-expanded="false">Replay journal</);
  assert.match(html, /badge-journal-replay[^>]*>journal to replay</);
});

test('a volume the kernel holds: nothing on its page starts what the host would refuse (replay, scrub, recalculation), and it says where to act', () => {
  const journal = {
    kind: 'journal' as const,
    sections: 46,
    section_entries: 168,
    committed_entries: 320,
    committed_sections: 2,
    commit_seq: 1,
    fill: 0.04,
    torn_entries: 0,
  };
  const held = page(
    vol('k', {
      state: 'journal-replay',
      conditions: ['journal-replay', 'not-checked'],
      journal_disk: journal,
      kernel: { name: 'vault', listed_at: '2026-12-08T03:00:00Z' },
    }),
  );
  const free = page(vol('k', { state: 'journal-replay', conditions: ['journal-replay', 'not-checked'], journal_disk: journal }));
  const replay = (html: string) => /<button[^>]*>Replay journal</.exec(html)?.[0] ?? '';
  assert.doesNotMatch(replay(free), /disabled/);
  assert.match(replay(held), /disabled/);
  assert.match(held, /data-testid="kernel-note"[^>]*>Active in the kernel as \/dev\/mapper\/vault/);
  assert.match(held, /data-testid="action">Watch, recalculate and scrub it under Kernel devices \(\/dev\/mapper\/vault\)/);
  assert.match(panel(held, 'scrub'), /data-testid="scrub-kernel-held"/);
  assert.match(panel(held, 'scrub'), /aria-disabled="true"[^>]*>Start scrub</);
  assert.doesNotMatch(panel(free, 'scrub'), /scrub-kernel-held/);
});

test('journal panel, bitmap mode left dirty: the regions, Recalculate dirty regions, and while it runs its progress with an ETA said to be an estimate', () => {
  const dirty = vol('b', {
    mode: 'bitmap',
    journal_disk: {
      kind: 'bitmap',
      sections: 0,
      section_entries: 0,
      committed_entries: 0,
      committed_sections: 0,
      commit_seq: null,
      fill: 0,
      torn_entries: 0,
      dirty_regions: 3,
      dirty_blocks: 6144,
      dirty_ranges: [
        [0, 2048],
        [4096, 8192],
      ],
    },
    verification: verification({ scrub: 'finished', checked_blocks: 26624, unchecked_blocks: 6144, unchecked: [{ reason: 'dirty-bitmap', blocks: 6144 }] }),
  });
  const idle = page(dirty);
  // a finished scrub did not check the dirty regions: the map shows them, not "scrubbed"
  assert.match(idle, /class="cell dirty" title="sectors 0–255: dirty bitmap region \(not verified\)"/);
  // the last cell of [4096, 8192) is dirty, the next one is not
  assert.match(idle, /class="cell dirty" title="sectors 7,936–8,191: dirty bitmap region \(not verified\)"/);
  assert.match(idle, /class="cell scrubbed" title="sectors 8,192–8,447: scrubbed"/);
  assert.match(idle, /class="cell scrubbed" title="sectors 2,048–2,303: scrubbed"/);
  assert.match(idle, /Recalculate the dirty regions \(Journal panel\)/);
  assert.match(idle, /data-testid="dirty-regions">3</);
  assert.match(idle, /6,144 \(not verified until recalculated\)/);
  assert.match(idle, /aria-expanded="false">Recalculate dirty regions</);
  // no recalculation running: no progress (the same element the running render below shows)
  assert.doesNotMatch(idle, /data-testid="replay-progress"/);
  assert.doesNotMatch(idle, /Recalculating the dirty regions/);
  // the Recalculation panel does not call those tags up to date: it names them (checked in that panel, where it would say it)
  const recalcPanel = panel(idle, 'recalc');
  assert.match(recalcPanel, /may hold stale tags: recalculate them in the Journal panel/);
  assert.doesNotMatch(recalcPanel, /up to date/);
  const running = renderToStaticMarkup(
    <VolumePage
      v={dirty}
      d={{ ...d(), pending: { 'replayJournal:b': true }, replayProgress: { b: { done: 12000, total: 48000, elapsed_ms: 3000, finished: false } } }}
      onNavigate={() => {}}
    />,
  );
  assert.match(running, /data-testid="replay-progress"/);
  assert.match(running, /aria-label="Recalculating the dirty regions"[^>]*aria-valuenow="25"/);
  assert.match(running, /12,000 of 48,000 sectors reached · 3 s · about 9 s left \(an estimate: clean regions are passed over at once\)/);
  assert.match(running, /disabled=""[^>]*>Recalculating…</);
  // asked, no progress event yet: the element shows "starting…"; a finished one's progress left in the store, not asked: none
  const starting = renderToStaticMarkup(<VolumePage v={dirty} d={{ ...d(), pending: { 'replayJournal:b': true } }} onNavigate={() => {}} />);
  assert.match(starting, /data-testid="replay-progress"[\s\S]*starting…/);
  const after = renderToStaticMarkup(
    <VolumePage v={dirty} d={{ ...d(), replayProgress: { b: { done: 48000, total: 48000, elapsed_ms: 9000, finished: true } } }} onNavigate={() => {}} />,
  );
  assert.doesNotMatch(after, /data-testid="replay-progress"/);
  assert.match(after, /aria-expanded="false">Recalculate dirty regions</);
  const clean = page(vol('c', { mode: 'bitmap', journal_disk: { ...dirty.journal_disk!, dirty_regions: 0, dirty_blocks: 0 } }));
  assert.match(clean, /No dirty region/);
  assert.match(clean, /disabled=""[^>]*>Recalculate dirty regions</);
});

test('forms: size empty, keys masked with a Show toggle, five journal ciphers, Unlock and Edit', () => {
  const form = renderToStaticMarkup(
    <CreateVolumeForm
      algorithms={['crc32c', 'sha256', 'hmac-sha256']}
      onSubmit={async () => {}}
      progress={{ done: 10, total: 40 }}
      initial={{ ...DEFAULT_FORM, integrity: 'hmac-sha256', journalCrypt: 'chacha20' }}
    />,
  );
  assert.match(form, /aria-label="Wipe progress"[^>]*aria-valuenow="25"/);
  assert.match(form, /id="f-sizeMiB"[^>]*value=""/);
  assert.match(form, /id="f-ikey-hex" type="password"/);
  assert.match(form, /aria-pressed="false" aria-label="Show integrity key">Show/);
  for (const c of ['ctr-aes', 'cbc-aes', 'xts-aes', 'ecb-aes', 'chacha20']) assert.match(form, new RegExp(`<option value="${c}"`));
  for (const label of [
    'Image path',
    'Integrity algorithm',
    'Tag size',
    'Sector size',
    'Journal size',
    'Interleave sectors',
    'Buffer sectors',
    'Separate data device',
    'Mode',
    'Journal integrity',
    'Journal encryption',
    'Allow discards',
    'Bitmap: sectors per bit',
    'Bitmap: flush time',
    'Do not wipe',
  ])
    assert.match(form, new RegExp(label.replace(/[()]/g, '\\$&')));
  // no box that pre-approves destroying data: the host asks, naming what is there, when it is there
  assert.doesNotMatch(form, /Format even though/);
  assert.doesNotMatch(form, /\(--/);
  const add = renderToStaticMarkup(<AddVolumeForm algorithms={['crc32c']} onSubmit={async () => {}} />);
  assert.match(add, /Journal integrity \(MAC\)/);
  assert.match(add, />Add volume</);
  const v = vol('h', {
    state: 'needs-key',
    options: { ...vol('h').options, journal_integrity: 'hmac-sha256', journal_crypt: 'ctr-aes' },
    keys_required: { integrity: false, journalIntegrity: true, journalCrypt: true },
  });
  const unlock = renderToStaticMarkup(<UnlockForm v={v} onSubmit={async () => {}} onCancel={() => {}} />);
  assert.match(unlock, /<legend>Journal integrity key<\/legend>/);
  assert.match(unlock, /<legend>Journal encryption key<\/legend>/);
  assert.doesNotMatch(unlock, /<legend>Integrity key<\/legend>/);
  assert.match(unlock, /type="submit"[^>]*>Unlock</);
  const edit = renderToStaticMarkup(<EditVolumeForm v={v} algorithms={['crc32c']} onSubmit={async () => {}} onCancel={() => {}} />);
  assert.match(edit, /id="edit-name"[^>]*value="vol-h"/);
  assert.match(edit, /<option value="ctr-aes" selected="">/);
  assert.match(edit, /leave empty to keep the key the host holds/);
});

test('status words while jobs run or keys are missing (issue: first contact): no "Start a scrub" that cannot run, no cause-less advice', () => {
  const action = (v: ReturnType<typeof vol>) => /data-testid="action">([^<]*)</.exec(page(v))?.[1] ?? '';
  // a scrub at 18 %: checking, and the action waits for it
  const running = vol('r', {
    state: 'checking',
    conditions: ['checking'],
    jobs: { scrub: prog({ job: 'scrub', position_sector: 6000 }) },
    verification: verification({
      scrub: 'running',
      position_sector: 6000,
      checked_blocks: 6000,
      unchecked_blocks: 26768,
      unchecked: [{ reason: 'not-reached', blocks: 26768 }],
    }),
  });
  assert.match(action(running), /^Wait for the scrub to finish/);
  assert.match(page(running), /badge-checking/);
  assert.doesNotMatch(page(running), /Start a scrub|once the cause is gone/);
  // a paused scrub whose only unchecked blocks are those not reached: resume, no "cause"
  const paused = vol('p', {
    state: 'check-paused',
    conditions: ['check-paused'],
    verification: verification({
      scrub: 'paused',
      position_sector: 6000,
      checked_blocks: 6000,
      unchecked_blocks: 26768,
      unchecked: [{ reason: 'not-reached', blocks: 26768 }],
    }),
  });
  assert.equal(action(paused), 'Resume the scrub to check the rest.');
  // recalculating: not "Start a scrub" (tags past the position are not valid yet)
  const recalc = vol('c', {
    state: 'recalculating',
    conditions: ['recalculating', 'not-checked'],
    superblock: { ...vol('c').superblock!, recalc_sector: 10240, flags: ['recalculating'] },
  });
  assert.match(
    action(recalc),
    /^Finish the recalculation \(Recalculation panel\), then scrub again: blocks at or past sector 10,240 \(31\.2%\) are not verified/,
  );
  // a keyed volume without its key cannot be scrubbed: Unlock, and the Start button is disabled
  const locked = vol('k', {
    state: 'needs-key',
    conditions: ['needs-key', 'not-checked'],
    keys_required: { integrity: true, journalIntegrity: false, journalCrypt: false },
  });
  assert.match(action(locked), /^Unlock it/);
  assert.match(page(locked), /<button type="button" class="primary" aria-disabled="true"[^>]*>Start scrub</);
  // an interrupted scrub says so and where it continues, never "paused"
  const dead = vol('i', {
    state: 'check-interrupted',
    conditions: ['check-interrupted'],
    jobs: { scrub: prog({ job: 'scrub', state: 'interrupted', position_sector: 4096 }) },
    verification: verification({
      scrub: 'interrupted',
      position_sector: 4096,
      checked_blocks: 4096,
      interrupted: { saved_sector: 4096, reached_sector: 5900, at: '2026-12-02T10:00:00Z' },
    }),
  });
  assert.match(action(dead), /^Resume the scrub: it continues from sector 4,096/);
  assert.match(page(dead), /data-testid="scrub-state">interrupted</);
  assert.match(page(dead), /badge-check-interrupted[^>]*>check interrupted</);
  assert.doesNotMatch(page(dead), /scrub-state">paused/);
});

test('a wrong algorithm is not damage: no "restore from a backup"; the Recalculation panel claims nothing about tags it did not check', () => {
  const suspect = page(
    vol('s', {
      state: 'errors',
      conditions: ['errors'],
      error_count: 14240,
      bad_ranges: [[0, 14240]],
      verification: verification({ scrub: 'finished', checked_blocks: 14240, bad_blocks: 14240, bad_ranges: [[0, 14240]], suspect_algorithm_or_key: true }),
    }),
  );
  assert.doesNotMatch(suspect, /[Rr]estore (these ranges|them) from a backup/);
  assert.match(suspect, /Restore or rewrite nothing before a scrub with the right ones agrees/);
  const plain = page(
    vol('n', {
      state: 'errors',
      conditions: ['errors'],
      error_count: 3,
      bad_ranges: [
        [8, 9],
        [100, 101],
        [200, 201],
      ],
      verification: verification({
        scrub: 'finished',
        checked_blocks: 32768,
        bad_blocks: 3,
        bad_ranges: [
          [8, 9],
          [100, 101],
          [200, 201],
        ],
      }),
    }),
  );
  assert.match(plain, /restore them from a backup/);
  const recalcPanel = panel(plain, 'recalc');
  assert.match(recalcPanel, /nothing to recalculate: the superblock has no recalculating flag \(whether the tags match the data, only a scrub tells\)/);
  assert.doesNotMatch(recalcPanel, /up to date/);
});

test('a result measured before the image changed says so', () => {
  const changed = page(
    vol('x', {
      state: 'changed',
      conditions: ['changed'],
      verification: verification({
        scrub: 'finished',
        finished_at: '2026-12-02T10:00:00Z',
        checked_blocks: 32768,
        changed_since: ['/tmp/x.img was modified 2026-12-02T11:00:00.000Z'],
      }),
    }),
  );
  assert.match(changed, /badge-changed[^>]*>changed since check</);
  assert.match(changed, /since it finished: \/tmp\/x\.img was modified/);
  assert.match(changed, /Scrub again: the volume changed after the last scrub/);
  assert.doesNotMatch(changed, /badge-clean/);
});

/** a mapping summary as the host sends it (host/fsmap) */
function damageMap(over: Partial<DamageMapSummary> = {}): DamageMapSummary {
  return {
    state: 'mapped',
    reason: null,
    fs: 'ext4',
    fs_description: 'ext4 (has_journal, extents, 64bit)',
    block_size: 4096,
    bad_sectors: 4,
    files_damaged: 1,
    file_items: 1,
    metadata_items: 2,
    free_sectors: 1,
    unmapped_sectors: 0,
    stale: [],
    mapped_at: '2026-12-02T10:00:05Z',
    rewritten: null,
    ...over,
  };
}

test('what the bad blocks hold: the status counts damaged files, the list has a column, the Errors panel groups files / structures / free space', () => {
  const base = {
    state: 'errors' as const,
    conditions: ['errors' as const],
    error_count: 4,
    bad_ranges: [
      [8, 9],
      [100, 101],
    ] as Array<[number, number]>,
    verification: verification({
      scrub: 'finished',
      finished_at: '2026-12-02T10:00:00Z',
      checked_blocks: 32768,
      bad_blocks: 4,
      bad_ranges: [
        [8, 9],
        [100, 101],
      ],
    }),
  };
  const v = vol('m', { ...base, damage_map: damageMap() });
  const html = page(v);
  assert.match(
    html,
    /<dt>Errors<\/dt><dd data-testid="errors-line">data errors in 1 file; 2 file-system structures damaged; 1 bad sector in free space \(harmless\)<\/dd>/,
  );
  assert.match(html, /What the bad blocks hold/);
  assert.match(html, /<h5[^>]*>Damaged files <span class="muted">\(1 file\)<\/span><\/h5>/);
  assert.match(html, /<h5[^>]*>File-system structures <span class="muted">\(2 structures\)<\/span><\/h5>/);
  assert.match(html, /<h5[^>]*>Free space <span class="muted">\(1 sector\)<\/span><\/h5>/);
  assert.match(html, /<strong>Harmless<\/strong>: no file or file-system structure uses these blocks/);
  assert.match(html, /<button type="button" class="secondary"[^>]*>Rewrite with zeros…<\/button>/);
  assert.doesNotMatch(html, /Could not map/);
  const list = renderToStaticMarkup(<VolumeList volumes={[v, vol('n')]} onNavigate={() => {}} />);
  assert.match(list, /<th>Damaged files<\/th>/);
  assert.match(list, /title="data errors in 1 file; [^"]*" data-testid="damaged-files">1<\/td>/);
  assert.match(list, /data-testid="damaged-files">—<\/td>/);
  // stale, locked, no file system: said, never a count that is not there
  const stale = page(
    vol('s', { ...base, damage_map: damageMap({ stale: ['the volume changed since it was mapped 2026-12-02T10:00:05Z: /tmp/s.img was modified'] }) }),
  );
  assert.match(stale, /May be out of date: the volume changed since it was mapped/);
  const locked = vol('l', {
    ...base,
    damage_map: damageMap({
      state: 'unavailable',
      reason: 'Unlock it with its passphrase: its file system is inside the encryption',
      fs: null,
      files_damaged: 0,
      mapped_at: null,
    }),
  });
  assert.match(page(locked), /Not mapped to files: Unlock it with its passphrase/);
  assert.doesNotMatch(page(locked), /Damaged files <span/);
  assert.match(
    renderToStaticMarkup(<VolumeList volumes={[locked]} onNavigate={() => {}} />),
    /title="Unlock it with its passphrase[^"]*" data-testid="damaged-files">not mapped</,
  );
  const nofs = page(
    vol('f', {
      ...base,
      damage_map: damageMap({
        fs: null,
        fs_description: 'no known file system (found: swap)',
        files_damaged: 0,
        file_items: 0,
        metadata_items: 0,
        free_sectors: 0,
        unmapped_sectors: 4,
      }),
    }),
  );
  assert.match(nofs, /data-testid="errors-line">not mapped to files: no known file system \(found: swap\)</);
  // said once in the Errors panel (the ranges are listed under Ranges), not in a heading, a note and a group
  assert.match(nofs, /data-testid="map-summary"><strong>Not mapped to files<\/strong>: no known file system \(found: swap\)</);
  assert.equal(nofs.split('no known file system (found: swap)').length - 1, 2, 'the status line and the Errors panel');
  assert.doesNotMatch(nofs, /Could not map/);
  // a wrong algorithm is not damage: nothing is mapped
  const suspect = page(vol('w', { ...base, damage_map: damageMap(), verification: verification({ ...base.verification, suspect_algorithm_or_key: true }) }));
  assert.doesNotMatch(suspect, /What the bad blocks hold/);
});

test('a damaged file: every path (hard links), the inode, the damaged bytes inside it; a structure: what it means, what it holds', () => {
  const f = renderToStaticMarkup(
    <FileItem
      i={{
        kind: 'file',
        inode: 54,
        file_type: 'regular',
        paths: ['/docs/report.bin', '/docs/old/report-link.bin'],
        paths_total: 3,
        size: 204800,
        byte_ranges: [[5120, 5632]],
        byte_ranges_total: 1,
        unwritten_bytes: 0,
        beyond_eof_bytes: 0,
        meaning: '512 bytes of the file read back wrong',
        ranges: [[14714, 14715]],
        ranges_total: 1,
        sectors: 1,
      }}
    />,
  );
  assert.match(f, /<strong class="path">\/docs\/report\.bin<\/strong>/);
  assert.match(f, /inode 54 · regular · 200\.0 KiB/);
  assert.match(f, /also \/docs\/old\/report-link\.bin \(and 1 more\)/);
  assert.match(f, /data-testid="file-bytes">Damaged: bytes 5,120–5,631 of the file</);
  assert.match(f, /sector 14,714/);
  const m = renderToStaticMarkup(
    <MetaItem
      i={{
        kind: 'metadata',
        structure: 'ext4.directory',
        description: 'directory entries of directory inode 12',
        meaning: 'the names listed vanish from this directory',
        owner: { inode: 12, file_type: 'directory', paths: ['/docs'], paths_total: 1 },
        names: ['a', 'b'],
        names_total: 42,
        ranges: [[14370, 14371]],
        ranges_total: 1,
        sectors: 1,
        uncertain: 'the names were read from the damaged block itself',
      }}
    />,
  );
  assert.match(m, /<strong>directory entries of directory inode 12<\/strong> <code class="small">ext4\.directory<\/code>/);
  assert.match(m, /<div>the names listed vanish from this directory<\/div>/);
  assert.match(m, /of \/docs \(inode 12\)/);
  assert.match(m, /Names it holds: a, b … and 40 names more/);
  assert.match(m, /Uncertain: the names were read from the damaged block itself/);
});
