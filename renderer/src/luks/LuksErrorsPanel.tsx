// Sectors failing authentication on a LUKS2 authenticated volume, as dm-crypt logs them ("INTEGRITY AEAD ERROR,
// sector N", in 512-byte sectors of the dm-crypt device), their ranges, what to do, and an export.
import type { VolumeSnapshot } from '../../../engine/api.js';
import { download } from '../lib/download.js';
import { formatCount, formatTime, plural } from '../lib/format.js';
import { aeadLine, failingSectors, luksErrorsCsv, luksErrorsJson, luksSpb } from './luks-form.js';

/** kernel lines shown (the export has every one) */
const SHOWN = 20;

export function LuksErrorsPanel({ v }: { v: VolumeSnapshot }) {
  const x = v.verification;
  const spb = luksSpb(v);
  const lines = failingSectors(v.bad_ranges, spb, SHOWN);
  const when = x.scrub === 'finished' ? `found by the scrub that finished ${formatTime(x.finished_at)} (started ${formatTime(x.started_at)})`
    : x.scrub === 'running' ? `found so far by the scrub running since ${formatTime(x.started_at)}`
    : x.scrub === 'paused' ? `found so far by the scrub started ${formatTime(x.started_at)}, now paused`
    : 'no scrub has run: nothing is checked';
  const base = v.name.replace(/[^\w.-]+/g, '_');
  return (
    <section className="panel" aria-labelledby="errors-h">
      <h3 id="errors-h" tabIndex={-1}>Sectors failing authentication</h3>
      <p>
        <span id="errcount-label">Failing sectors</span>: <strong aria-labelledby="errcount-label" data-testid="error-count">{x.scrub === 'none' ? '— (not checked)' : formatCount(v.error_count)}</strong>
        <span className="muted"> ({plural(spb * 512, 'byte')} per encryption sector)</span>
      </p>
      <p className="muted small" data-testid="errors-when">{when}</p>
      {v.bad_ranges.length ? (
        <>
          <div className="table-wrap">
            <table className="ranges" aria-label="Failing sector ranges">
              <thead><tr><th>Range (512-byte sectors)</th><th>Size</th><th>Found</th></tr></thead>
              <tbody>
                {v.bad_ranges.map(([a, b]) => (
                  <tr key={a}>
                    <td data-testid="range">{b - a === spb ? `sector ${formatCount(a)}` : `sectors ${formatCount(a)}–${formatCount(b - 1)}`}</td>
                    <td>{plural((b - a) / spb, 'encryption sector')} · {plural(b - a, 'sector')}</td>
                    <td>authentication failed (tag, IV or data altered)</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <p>As the kernel logs them when they are read through dm-crypt:</p>
          <pre className="cmd" aria-label="Kernel log lines" data-testid="aead-lines">{lines.map(aeadLine).join('\n')}{v.error_count > SHOWN ? `\n… and ${formatCount(v.error_count - SHOWN)} more (in the export)` : ''}</pre>
          <h4>What now</h4>
          <ul className="what-now">
            <li>The data of these sectors cannot be trusted: dm-crypt returns an I/O error for them, never their plaintext, and so does this tool.</li>
            <li>Restore them from a backup: write them again through the opened device (the write makes a new IV and tag).</li>
            <li>If every sector fails, the volume was probably made without the wipe: unwritten sectors have no valid tag.</li>
          </ul>
          <div className="row">
            <button type="button" className="secondary" onClick={() => download(`${base}-aead-errors.json`, 'application/json', luksErrorsJson(v))}>Export JSON</button>
            <button type="button" className="secondary" onClick={() => download(`${base}-aead-errors.csv`, 'text/csv', luksErrorsCsv(v))}>Export CSV</button>
          </div>
        </>
      ) : (
        <p className={x.scrub === 'finished' && x.unchecked_blocks === 0 ? 'ok' : 'muted'}>
          {x.scrub === 'none' ? 'None known: unlock and run a scrub to check.' : x.unchecked_blocks > 0 || x.scrub !== 'finished' ? `None found in the ${formatCount(x.checked_blocks)} sectors checked; ${plural(x.unchecked_blocks, 'encryption sector')} not checked.` : `None: every one of the ${formatCount(x.total_blocks)} encryption sectors was authenticated.`}
        </p>
      )}
    </section>
  );
}
