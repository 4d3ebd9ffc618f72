// The superblock and geometry as on disk; the recalc sector follows a running recalculation live.
import type { VolumeSnapshot } from '../../../engine/api.js';
import { formatCount } from '../lib/format.js';

export function SuperblockPanel({ v }: { v: VolumeSnapshot }) {
  const sb = v.superblock,
    g = v.geometry;
  const p = v.jobs.recalc;
  const live = p && (p.state === 'running' || p.state === 'paused') ? p.position_sector : null;
  return (
    <section className="panel" aria-labelledby="superblock-h">
      <h3 id="superblock-h" tabIndex={-1}>
        Superblock and geometry
      </h3>
      {sb && g ? (
        <dl className="kv">
          <dt>Version</dt>
          <dd>{sb.version}</dd>
          <dt>Flags</dt>
          <dd>{sb.flags.join(', ') || 'none'}</dd>
          <dt>Tag size</dt>
          <dd>{sb.integrity_tag_size} bytes</dd>
          <dt>Block size</dt>
          <dd>{g.block_size} bytes</dd>
          <dt>Provided data sectors</dt>
          <dd>{formatCount(sb.provided_data_sectors)} (512-byte)</dd>
          <dt>Interleave sectors</dt>
          <dd>{formatCount(2 ** sb.log2_interleave_sectors)}</dd>
          <dt>Journal sections</dt>
          <dd>{sb.journal_sections}</dd>
          <dt>Initial sectors</dt>
          <dd>{g.initial_sectors}</dd>
          <dt>Metadata run</dt>
          <dd>{g.metadata_run} sectors</dd>
          <dt>Recalc sector</dt>
          <dd data-testid="sb-recalc-sector">
            {live !== null
              ? `${formatCount(live)} (${p!.state === 'running' ? 'live' : 'paused'})`
              : sb.recalc_sector !== null
                ? formatCount(sb.recalc_sector)
                : '— (not recalculating)'}
          </dd>
        </dl>
      ) : (
        <p>Superblock unreadable{v.error ? `: ${v.error}` : '.'}</p>
      )}
    </section>
  );
}
