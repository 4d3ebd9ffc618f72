// Integrity errors people can act on: each range in blocks and 512-byte sectors with the unit named, where it
// is in the image (byte offsets), the scrub that found it, what to do, and an export as JSON or CSV.
import type { VolumeSnapshot } from '../../../engine/api.js';
import { download } from '../lib/download.js';
import { formatCount, formatTime, plural } from '../lib/format.js';
import { errorRows, errorsCsv, errorsJson, sectorsPerBlock, SECTOR } from '../lib/ranges.js';

export function ErrorsPanel({ v }: { v: VolumeSnapshot }) {
  const x = v.verification;
  const rows = errorRows(v);
  const bs = sectorsPerBlock(v) * SECTOR;
  const when = x.scrub === 'finished' ? `found by the scrub that finished ${formatTime(x.finished_at)} (started ${formatTime(x.started_at)})`
    : x.scrub === 'running' ? `found so far by the scrub running since ${formatTime(x.started_at)}`
    : x.scrub === 'paused' ? `found so far by the scrub started ${formatTime(x.started_at)}, now paused`
    : 'no scrub has run: nothing is checked';
  const base = v.name.replace(/[^\w.-]+/g, '_');
  return (
    <section className="panel" aria-labelledby="errors-h">
      <h3 id="errors-h" tabIndex={-1}>Integrity errors</h3>
      <p>
        <span id="errcount-label">Bad blocks</span>: <strong aria-labelledby="errcount-label" data-testid="error-count">{x.scrub === 'none' ? '— (not checked)' : formatCount(v.error_count)}</strong>
        <span className="muted"> ({plural(bs, 'byte')} per block){x.read_errors ? ` · read errors: ${formatCount(x.read_errors)}` : ''}</span>
      </p>
      <p className="muted small" data-testid="errors-when">{when}</p>
      {rows.length ? (
        <>
          <div className="table-wrap">
            <table className="ranges" aria-label="Bad block ranges">
              <thead><tr><th>Range</th><th>Size</th><th>Bytes in the {rows[0]!.on}</th><th>Found</th></tr></thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={`${r.kind}-${r.first_sector}`}>
                    <td data-testid="range">{r.text}</td>
                    <td>{plural(r.blocks, 'block')} · {plural(r.sectors, 'sector')}</td>
                    <td>{r.extents.length ? r.extents.map((e) => `${formatCount(e.start_byte)}–${formatCount(e.end_byte - 1)}`).join(', ') : '—'}</td>
                    <td>{r.kind === 'bad' ? 'tag mismatch' : 'read error (EIO)'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <h4>What now</h4>
          <ul className="what-now">
            <li>The data of these blocks cannot be trusted: it is not what was written.</li>
            <li>Restore these ranges from a backup (the byte offsets above are in the {rows[0]!.on}; sectors are 512 bytes).</li>
            <li>The kernel returns an I/O error (EILSEQ) when they are read through the dm-integrity device, and counts them in its mismatch counter.</li>
            <li>If every block fails, suspect the integrity algorithm or key rather than the disk.</li>
          </ul>
          <div className="row">
            <button type="button" className="secondary" onClick={() => download(`${base}-integrity-errors.json`, 'application/json', errorsJson(v))}>Export JSON</button>
            <button type="button" className="secondary" onClick={() => download(`${base}-integrity-errors.csv`, 'text/csv', errorsCsv(v))}>Export CSV</button>
          </div>
        </>
      ) : (
        <p className={x.scrub === 'finished' && x.unchecked_blocks === 0 ? 'ok' : 'muted'}>
          {x.scrub === 'none' ? 'None known: run a scrub to check.' : x.unchecked_blocks > 0 || x.scrub !== 'finished' ? `None found in the ${formatCount(x.checked_blocks)} blocks checked; ${plural(x.unchecked_blocks, 'block')} not checked.` : `None: every one of the ${formatCount(x.total_blocks)} blocks was checked.`}
        </p>
      )}
    </section>
  );
}
