// Sectors failing authentication on a LUKS2 authenticated volume, as dm-crypt logs them ("INTEGRITY AEAD ERROR,
// sector N", in 512-byte sectors of the dm-crypt device), a page at a time, what to do, and an export streamed by
// the host.
import type { VolumeSnapshot } from '../../../engine/api.js';
import { formatCount, formatTime, plural } from '../lib/format.js';
import type { Dashboard } from '../store.js';
import { DamageList, type Exporter } from '../volume/DamageList.js';
import { DamageMap } from '../volume/DamageMap.js';
import { aeadLine, luksSpb } from './luks-form.js';

/** a range's kernel lines, every encryption sector up to SHOWN (the export has every one) */
const SHOWN = 20;
function kernelLines(first: number, end: number, spb: number): string {
  const lines: string[] = [];
  for (let s = first; s < end && lines.length < SHOWN; s += spb) lines.push(aeadLine(s));
  const n = (end - first) / spb;
  return lines.join('\n') + (n > SHOWN ? `\n… and ${formatCount(n - SHOWN)} more (in the export)` : '');
}

export function LuksErrorsPanel({ v, d, exporter }: { v: VolumeSnapshot; d: Pick<Dashboard, 'call'>; exporter?: Exporter }) {
  const x = v.verification;
  const spb = luksSpb(v);
  const when =
    x.scrub === 'finished'
      ? `found by the scrub that finished ${formatTime(x.finished_at)} (started ${formatTime(x.started_at)})`
      : x.scrub === 'running'
        ? `found so far by the scrub running since ${formatTime(x.started_at)}`
        : x.scrub === 'paused'
          ? `found so far by the scrub started ${formatTime(x.started_at)}, now paused`
          : x.scrub === 'interrupted'
            ? `found by the scrub started ${formatTime(x.started_at)} before its process stopped`
            : 'no scrub has run: nothing is checked';
  return (
    <section className="panel" aria-labelledby="errors-h">
      <h3 id="errors-h" tabIndex={-1}>
        Sectors failing authentication
      </h3>
      <p>
        Failing sectors: <strong data-testid="error-count">{x.scrub === 'none' ? '— (not checked)' : formatCount(v.error_count)}</strong>
        <span className="muted"> ({plural(spb * 512, 'byte')} per encryption sector)</span>
      </p>
      <p className="muted small" data-testid="errors-when">
        {when}
      </p>
      {v.error_count > 0 ? (
        <>
          <DamageMap v={v} d={d} noun="failing sector" />
          <h4>Ranges</h4>
          <p>As the kernel logs them when they are read through dm-crypt, range by range:</p>
          <DamageList
            v={v}
            d={d}
            exporter={exporter}
            noun="failing sector"
            head={
              <tr>
                <th>Range (512-byte sectors)</th>
                <th>Size</th>
                <th>Kernel log</th>
              </tr>
            }
            renderRow={(r) => (
              <>
                <td data-testid="range">
                  {r.end_sector - r.first_sector === spb
                    ? `sector ${formatCount(r.first_sector)}`
                    : `sectors ${formatCount(r.first_sector)}–${formatCount(r.end_sector - 1)}`}
                </td>
                <td>
                  {plural((r.end_sector - r.first_sector) / spb, 'encryption sector')} · {plural(r.end_sector - r.first_sector, 'sector')}
                </td>
                <td>
                  <pre className="cmd" data-testid="aead-lines">
                    {kernelLines(r.first_sector, r.end_sector, spb)}
                  </pre>
                </td>
              </>
            )}
          />
          <h4>What now</h4>
          <ul className="what-now">
            <li>The data of these sectors cannot be trusted: dm-crypt returns an I/O error for them, never their plaintext, and so does this tool.</li>
            <li>Restore them from a backup: write them again through the opened device (the write makes a new IV and tag).</li>
            <li>If every sector fails, the volume was probably made without the wipe: unwritten sectors have no valid tag.</li>
          </ul>
        </>
      ) : (
        <p className={x.scrub === 'finished' && x.unchecked_blocks === 0 ? 'ok' : 'muted'}>
          {x.scrub === 'none'
            ? 'None known: unlock and run a scrub to check.'
            : x.unchecked_blocks > 0 || x.scrub !== 'finished'
              ? `None found in the ${formatCount(x.checked_blocks)} sectors checked; ${plural(x.unchecked_blocks, 'encryption sector')} not checked.`
              : `None: every one of the ${formatCount(x.total_blocks)} encryption sectors was authenticated.`}
        </p>
      )}
    </section>
  );
}
