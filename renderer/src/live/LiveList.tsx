// Kernel devices: every active dm-integrity device of the kernel (name, owner, mode, size, where it is used, its
// recalculation), or one panel saying why the live features cannot work here; and the activation of a volume of
// the app's list in the kernel.
import { useState } from 'react';
import { useStore } from 'zustand';
import type { ControlPlan, VolumeSnapshot } from '../../../engine/api.js';
import { formatBytes, formatTime } from '../lib/format.js';
import type { Route } from '../lib/routes.js';
import { routeLink } from '../lib/route-link.js';
import type { DashboardStore } from '../store.js';
import { volumeList } from '../store.js';
import { UnavailablePanel } from './UnavailablePanel.js';
import { useOverview } from './useLive.js';
import { deviceStateWords, listedAs, MODE_WORDS, ownerWords, recalcFromStatus, SECTOR, usedByWords } from './live-words.js';

export function LiveList({ store, onNavigate }: { store: DashboardStore; onNavigate(r: Route): void }) {
  const connected = useStore(store, (s) => s.connection.state === 'connected');
  const { overview, error, refresh } = useOverview(store, connected);
  const order = useStore(store, (s) => s.order);
  const vols = useStore(store, (s) => s.volumes);
  const listed = volumeList({ order, volumes: vols });
  const link = routeLink(onNavigate);
  return (
    <section aria-labelledby="view-h">
      <p className="crumbs">{link({ page: 'list' }, '← Volumes')}</p>
      <div className="row heading-row">
        <h2 id="view-h" tabIndex={-1}>
          Kernel devices
        </h2>
        <span className="spacer" />
        <button type="button" className="secondary" onClick={refresh}>
          Refresh
        </button>
      </div>
      <p className="muted">
        The dm-integrity devices active in this machine's kernel (opened by integritysetup, systemd-integritysetup, under LUKS2 or LVM): watched live,
        controlled with the equivalent commands shown, and scrubbed while mounted.
      </p>
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
      {!overview ? (
        <p>Loading…</p>
      ) : !overview.availability.available ? (
        <UnavailablePanel a={overview.availability} />
      ) : (
        <>
          {overview.error ? (
            <p className="error" role="alert">
              The devices could not be listed: {overview.error}
            </p>
          ) : null}
          {overview.volumes.length === 0 && !overview.error ? (
            <p>No dm-integrity device is active in the kernel.</p>
          ) : (
            <div className="table-wrap">
              <table className="vols" data-testid="live-list">
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>Owner</th>
                    <th>Mode</th>
                    <th>Size</th>
                    <th>Used by</th>
                    <th>State</th>
                    <th>Recalculation</th>
                  </tr>
                </thead>
                <tbody>
                  {overview.volumes.map((v) => (
                    <tr key={v.name}>
                      <td>
                        {link({ page: 'live-device', name: v.name }, v.name)}
                        {(() => {
                          const a = listedAs(v, listed);
                          return a ? <div className="small muted">in your list as {link({ page: 'volume', id: a.id }, a.name)}</div> : null;
                        })()}
                      </td>
                      <td>{ownerWords(v)}</td>
                      <td>{MODE_WORDS[v.table.mode]}</td>
                      <td>{formatBytes(v.size_sectors * SECTOR)}</td>
                      <td className="small">{usedByWords(v)}</td>
                      <td>{deviceStateWords(v)}</td>
                      <td>{recalcFromStatus(v)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <p className="small muted">
            Listed {formatTime(overview.listed_at)} ·{' '}
            {overview.availability.via === 'root' ? 'the host runs as root' : 'through the privileged helper (pkexec)'}
          </p>
          <ActivateForm
            store={store}
            onActivated={(name) => {
              refresh();
              onNavigate({ page: 'live-device', name });
            }}
          />
        </>
      )}
    </section>
  );
}

function ActivateForm({ store, onActivated }: { store: DashboardStore; onActivated(name: string): void }) {
  const volumes = useStore(store, (s) => s.order);
  const vols = useStore(store, (s) => s.volumes);
  const list: VolumeSnapshot[] = volumeList({ order: volumes, volumes: vols }).filter((v) => !v.luks);
  const [id, setId] = useState('');
  const [name, setName] = useState('');
  const [recalc, setRecalc] = useState(false);
  const [plan, setPlan] = useState<ControlPlan | null>(null);
  const [error, setError] = useState<string | null>(null);
  if (list.length === 0) return null;
  const chosen = list.find((v) => v.id === id) ?? null;
  const req = () => ({ action: 'activate' as const, volumeId: id, ...(name ? { name } : {}), ...(recalc ? { recalculate: true } : {}) });
  const show = () =>
    store
      .getState()
      .call('planLive', req())
      .then(
        (p) => {
          setPlan(p);
          setError(null);
        },
        (e: Error) => {
          setPlan(null);
          setError(e.message);
        },
      );
  return (
    <section className="panel" aria-labelledby="activate-h">
      <h3 id="activate-h">Activate a volume of the list in the kernel</h3>
      <div className="grid">
        <label className="field">
          Volume
          <select
            value={id}
            onChange={(e) => {
              setId(e.target.value);
              setPlan(null);
            }}
          >
            <option value="">Choose…</option>
            {list.map((v) => (
              <option key={v.id} value={v.id}>
                {v.name} ({v.path})
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          Device name (/dev/mapper/…)
          <input
            value={name}
            placeholder={chosen?.name ?? ''}
            onChange={(e) => {
              setName(e.target.value);
              setPlan(null);
            }}
          />
        </label>
      </div>
      <label className="field check">
        <input
          type="checkbox"
          checked={recalc}
          onChange={(e) => {
            setRecalc(e.target.checked);
            setPlan(null);
          }}
        />{' '}
        Recalculate tags in the kernel (--integrity-recalculate)
      </label>
      <p className="small muted">
        The host uses the volume's options and the keys it holds (they are passed to integritysetup through a private pipe; the command below shows key files as
        placeholders).
      </p>
      <div className="row">
        <button type="button" className="secondary" disabled={!id} onClick={() => void show()}>
          Show the command
        </button>
        <button
          type="button"
          disabled={!id || !plan || !!plan.refused}
          onClick={() => {
            store
              .getState()
              .call('controlLive', { ...req(), confirm: true })
              .then(
                (r) => onActivated(r.plan.name),
                (e: Error) => setError(e.message),
              );
          }}
        >
          Activate
        </button>
      </div>
      {plan ? (
        <>
          <figure className="cmd-box" aria-label="Equivalent command">
            <pre className="cmd">{plan.commands.join('\n')}</pre>
          </figure>
          <p className="small">{plan.cost}</p>
          {plan.refused ? (
            <p className="error" role="alert">
              Refused: {plan.refused}
            </p>
          ) : null}
        </>
      ) : null}
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
    </section>
  );
}
