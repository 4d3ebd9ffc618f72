// The volume list: name (a link to the volume's page), size, algorithm, mode, state badges, last check, errors.
import type { VolumeSnapshot } from '../../../engine/api.js';
import { formatBytes, formatCount, formatTime, plural } from '../lib/format.js';
import { routeHash, type Route } from '../lib/routes.js';
import { routeLink } from '../lib/route-link.js';
import { StateBadges } from './StateBadges.js';
import { damagedFilesCell } from '../lib/fsmap-words.js';

export function lastCheck(v: VolumeSnapshot): string {
  const x = v.verification;
  if (x.scrub === 'none') return 'never scrubbed';
  if (x.scrub === 'running') return `scrubbing: ${formatCount(x.checked_blocks)} of ${formatCount(x.total_blocks)} blocks checked`;
  if (x.scrub === 'paused') return `paused: ${formatCount(x.checked_blocks)} of ${formatCount(x.total_blocks)} blocks checked`;
  return `${formatTime(x.finished_at)}${x.unchecked_blocks ? ` · ${plural(x.unchecked_blocks, 'block')} not checked` : ''}`;
}

export function VolumeList({ volumes, onNavigate }: { volumes: VolumeSnapshot[]; onNavigate(r: Route): void }) {
  const link = routeLink(onNavigate);
  return (
    <section aria-labelledby="view-h">
      <div className="row heading-row">
        <h2 id="view-h" tabIndex={-1}>
          Volumes
        </h2>
        <span className="spacer" />
        <button type="button" onClick={() => onNavigate({ page: 'create' })}>
          Create volume
        </button>
        <button type="button" onClick={() => onNavigate({ page: 'add' })}>
          Add existing image
        </button>
      </div>
      {volumes.length === 0 ? (
        <p>No volumes yet. Create one, or add an image made by integritysetup or the kernel.</p>
      ) : (
        <div className="table-wrap">
          <table className="vols">
            <thead>
              <tr>
                <th>Name</th>
                <th>Size</th>
                <th>Algorithm</th>
                <th>Mode</th>
                <th>State</th>
                <th>Last check</th>
                <th>Bad blocks</th>
                <th>Damaged files</th>
              </tr>
            </thead>
            <tbody>
              {volumes.map((v) => (
                <tr key={v.id}>
                  <td>{link({ page: 'volume', id: v.id }, v.name)}</td>
                  <td>{formatBytes(v.size_bytes)}</td>
                  <td>{v.algorithm}</td>
                  <td>{v.mode}</td>
                  <td>
                    {v.kernel ? (
                      <a
                        className="badge badge-kernel"
                        data-testid="kernel-badge"
                        href={routeHash({ page: 'live-device', name: v.kernel.name })}
                        title={`As the kernel's devices were listed ${v.kernel.listed_at}: the app's engine does not open it while the kernel holds it`}
                        onClick={(e) => {
                          e.preventDefault();
                          onNavigate({ page: 'live-device', name: v.kernel!.name });
                        }}
                      >
                        active in the kernel: {v.kernel.name}
                      </a>
                    ) : null}
                    <StateBadges state={v.state} conditions={v.conditions} />
                  </td>
                  <td className="small">{lastCheck(v)}</td>
                  <td>{v.verification.scrub === 'none' ? '—' : formatCount(v.error_count)}</td>
                  <td title={damagedFilesCell(v.damage_map).title} data-testid="damaged-files">
                    {damagedFilesCell(v.damage_map).text}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
