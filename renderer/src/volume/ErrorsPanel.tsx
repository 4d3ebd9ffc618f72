// Integrity errors people can act on: how many and where (a page at a time: DamageList), each range in blocks and
// 512-byte sectors with the unit named, where it is in the image (byte offsets, both ends included), the scrub that
// found it, what to do, and an export as JSON or CSV streamed by the host.
import type { VolumeSnapshot } from '../../../engine/api.js';
import { formatCount, formatTime, plural } from '../lib/format.js';
import { describeRange, imageExtents, sectorsPerBlock, SECTOR } from '../lib/ranges.js';
import type { Dashboard } from '../store.js';
import { DamageList, type Exporter } from './DamageList.js';
import { DamageMap } from './DamageMap.js';

export function ErrorsPanel({ v, d, exporter }: { v: VolumeSnapshot; d: Pick<Dashboard, 'call'>; exporter?: Exporter }) {
  const x = v.verification;
  const spb = sectorsPerBlock(v);
  const bs = spb * SECTOR;
  const on = v.geometry?.meta_dev ? 'data device' : 'image';
  const c = x.carried_over;
  const carried =
    c && (c.bad_blocks || c.read_errors)
      ? `; ${plural(c.bad_blocks + c.read_errors, 'of them', 'of them')} found by the scrub that finished ${formatTime(c.finished_at)}, in blocks the current one has not checked again yet${c.changed_since.length ? ` (the volume changed since: ${c.changed_since.join('; ')})` : ''}`
      : '';
  const when =
    x.scrub === 'finished'
      ? `found by the scrub that finished ${formatTime(x.finished_at)} (started ${formatTime(x.started_at)})${x.changed_since.length ? `; the volume changed since: ${x.changed_since.join('; ')}` : ''}`
      : x.scrub === 'running'
        ? `found so far by the scrub running since ${formatTime(x.started_at)}${x.running_elsewhere ? ' in another process' : ''}${carried}`
        : x.scrub === 'paused'
          ? `found so far by the scrub started ${formatTime(x.started_at)}, now paused${carried}`
          : x.scrub === 'interrupted'
            ? `found by the scrub started ${formatTime(x.started_at)} before its process stopped${carried}`
            : 'no scrub has run: nothing is checked';
  const any = x.bad_blocks > 0 || x.read_errors > 0;
  return (
    <section className="panel" aria-labelledby="errors-h">
      <h3 id="errors-h" tabIndex={-1}>
        Integrity errors
      </h3>
      <p>
        Bad blocks: <strong data-testid="error-count">{x.scrub === 'none' ? '— (not checked)' : formatCount(v.error_count)}</strong>
        <span className="muted">
          {' '}
          ({plural(bs, 'byte')} per block){x.read_errors ? ` · read errors: ${formatCount(x.read_errors)}` : ''}
        </span>
      </p>
      <p className="muted small" data-testid="errors-when">
        {when}
      </p>
      {any ? (
        <>
          {x.suspect_algorithm_or_key ? null : <DamageMap v={v} d={d} noun="bad block" />}
          <h4>Ranges</h4>
          <DamageList
            v={v}
            d={d}
            exporter={exporter}
            noun="bad block"
            head={
              <tr>
                <th>Range</th>
                <th>Size</th>
                <th>Bytes in the {on} (first–last)</th>
                <th>Found</th>
              </tr>
            }
            renderRow={(r) => {
              const ext = v.superblock && v.geometry ? imageExtents(v.superblock, v.geometry, r.first_sector, r.end_sector) : [];
              const blocks = Math.ceil((r.end_sector - r.first_sector) / spb);
              return (
                <>
                  <td data-testid="range">{describeRange(r.first_sector, r.end_sector, spb)}</td>
                  <td>
                    {plural(blocks, 'block')} · {plural(r.end_sector - r.first_sector, 'sector')}
                  </td>
                  <td>{ext.length ? ext.map((e) => `${formatCount(e.first_byte)}–${formatCount(e.last_byte)}`).join(', ') : '—'}</td>
                  <td>{r.kind === 'bad' ? 'tag mismatch' : 'read error (EIO)'}</td>
                </>
              );
            }}
          />
          <h4>What now</h4>
          {x.suspect_algorithm_or_key ? (
            <ul className="what-now" data-testid="what-now">
              <li>
                Every block checked failed: the integrity algorithm or key given is probably wrong (a guess — neither is stored on disk, and a wrong one makes
                every tag mismatch).
              </li>
              <li>
                Check them under Edit, then scrub again. Restore or rewrite nothing before a scrub with the right ones agrees: these blocks may be perfectly
                good.
              </li>
            </ul>
          ) : (
            <ul className="what-now" data-testid="what-now">
              <li>The data of these blocks cannot be trusted: it is not what was written.</li>
              <li>Restore these ranges from a backup (the byte offsets above are in the {on}, first and last byte included; sectors are 512 bytes).</li>
              <li>The kernel returns an I/O error (EILSEQ) when they are read through the dm-integrity device, and counts them in its mismatch counter.</li>
            </ul>
          )}
        </>
      ) : (
        <p className={x.scrub === 'finished' && x.unchecked_blocks === 0 && !x.changed_since.length ? 'ok' : 'muted'}>
          {x.scrub === 'none'
            ? 'None known: run a scrub to check.'
            : x.unchecked_blocks > 0 || x.scrub !== 'finished'
              ? `None found in the ${formatCount(x.checked_blocks)} blocks checked; ${plural(x.unchecked_blocks, 'block')} not checked.`
              : `None: every one of the ${formatCount(x.total_blocks)} blocks was checked${x.changed_since.length ? ' (before the volume changed)' : ''}.`}
        </p>
      )}
    </section>
  );
}
