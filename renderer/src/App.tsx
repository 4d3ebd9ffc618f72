// The dashboard shell: connects the bridge to the store (events batched per animation frame, the host's status
// fetched again on every (re)connection), mirrors the route into the address (hash routes), moves focus to the
// new view's heading on navigation, and disables every control while disconnected. It selects from the store piece
// by piece (zustand selectors): an event re-renders the views that show what it changed, not the whole tree.
import { useEffect, type ReactNode } from 'react';
import { useStore } from 'zustand';
import { useShallow } from 'zustand/react/shallow';
import type { PickKind, Transport, VolumeSnapshot } from '../../engine/api.js';
import { createEventBatcher, volumeList, type DashboardStore } from './store.js';
import { parseHash, routeHash, type Route } from './lib/routes.js';
import { ConnectionBanner } from './connection/ConnectionBanner.js';
import { VolumeList } from './volume-list/VolumeList.js';
import { VolumePage } from './volume/VolumePage.js';
import { CreateVolumeForm } from './forms/CreateVolumeForm.js';
import { AddVolumeForm } from './forms/AddVolumeForm.js';
import { EditVolumeForm } from './forms/EditVolumeForm.js';
import { UnlockForm } from './forms/UnlockForm.js';
import { LuksCreateVolumeForm } from './luks/LuksCreateForm.js';
import { LuksUnlockForm } from './luks/LuksUnlockForm.js';
import { ResizePage } from './volume/ResizePage.js';
import type { Exporter } from './volume/DamageList.js';
import { LiveList } from './live/LiveList.js';
import { LiveDevicePage } from './live/LiveDevicePage.js';

/** what a view of one volume needs from the store: re-rendered when this volume, its rates, its replay or KDF
 *  progress or the commands in flight change, not on every event of another volume */
function useVolumeSlice(store: DashboardStore, id: string | null) {
  return useStore(
    store,
    useShallow((s) => (id === null ? [] : [s.volumes[id], s.rates[id], s.replayProgress[id], s.kdfProgress[id], s.pending])),
  );
}

/** the volume being formatted (Create shows its wipe and KDF progress), selected on its own */
function useFormatting(store: DashboardStore) {
  return useStore(
    store,
    useShallow((s) => {
      const f = volumeList(s).find((v) => v.state === 'formatting');
      return f ? ([f.id, s.formatProgress[f.id], s.kdfProgress[f.id]] as const) : ([null, undefined, undefined] as const);
    }),
  );
}

export function App({ store, api }: { store: DashboardStore; api: Transport & { reconnectNow?(): void; origin?: string; token?: string } }) {
  // each piece of the store the shell shows, selected on its own: a progress event re-renders only what shows it
  const connection = useStore(store, (s) => s.connection);
  const status = useStore(store, (s) => s.status);
  const route = useStore(store, (s) => s.route);
  const navigations = useStore(store, (s) => s.navigations);
  const message = useStore(store, (s) => s.message);
  const volumes = useStore(
    store,
    useShallow((s) => (route.page === 'list' ? volumeList(s) : [])),
  );
  const routeId = route.page === 'volume' || route.page === 'edit' || route.page === 'unlock' || route.page === 'resize' ? route.id : null;
  const [vol] = useVolumeSlice(store, routeId) as [VolumeSnapshot | undefined];
  const [formattingId, formatProgress, formatKdf] = useFormatting(store);
  const d = store.getState();
  useEffect(() => {
    const batch = createEventBatcher(
      (evs) => store.getState().applyEvents(evs),
      (fn) => requestAnimationFrame(() => fn()),
    );
    return api.onEvent(batch);
  }, [api, store]);
  // the host is the truth: a (re)connection fetches everything again (a restarted host has a new started_at)
  useEffect(() => {
    if (connection.state !== 'connected') return;
    api.invoke('status', []).then(
      (s) => store.getState().setStatus(s),
      (e: Error) => store.getState().setMessage(e.message),
    );
  }, [api, store, connection.state]);
  // the address is the view: first load, Back/Forward and pasted links
  useEffect(() => {
    const sync = () => store.getState().setRoute(parseHash(location.hash));
    sync();
    window.addEventListener('hashchange', sync);
    return () => window.removeEventListener('hashchange', sync);
  }, [store]);
  useEffect(() => {
    const h = routeHash(route);
    if (routeHash(parseHash(location.hash)) !== h) location.hash = h;
  }, [route]);
  // focus to the new view's heading (or the panel the address names)
  const volumeLoaded = routeId !== null && !!vol;
  // biome-ignore lint/correctness/useExhaustiveDependencies: focus moves on a navigation (or when its volume arrives), not whenever the route object is replaced
  useEffect(() => {
    if (navigations === 0) return;
    const target = route.page === 'volume' && route.panel ? `${route.panel}-h` : 'view-h';
    const el = document.getElementById(target) ?? document.getElementById('view-h');
    if (el) {
      el.focus();
      if (target !== 'view-h') el.scrollIntoView({ block: 'start' });
    }
  }, [navigations, volumeLoaded]);

  const nav = (r: Route) => d.navigate(r);
  const algorithms = status?.algorithms ?? ['crc32c'];
  const pick = api.pickPath ? (k: PickKind) => api.pickPath!(k) : undefined;
  const connected = connection.state === 'connected';
  // exports of known damage: streamed by `serve` as a download, or written by the host where Electron's dialog says
  const exporter: Exporter | undefined =
    api.origin && api.token
      ? { kind: 'link', href: (id, f) => `${api.origin}/export/${encodeURIComponent(id)}.${f}?token=${encodeURIComponent(api.token!)}` }
      : api.pickPath
        ? {
            kind: 'save',
            save: async (id, f) => {
              const path = await api.pickPath!(f === 'json' ? 'export-json' : 'export-csv');
              if (!path) return null;
              return (await d.call('exportErrors', id, { format: f, path })).path;
            },
          }
        : undefined;
  const wipe = formattingId ? (formatProgress ?? { done: 0, total: 1 }) : null;
  const done = (id: string) => nav({ page: 'volume', id });
  let view: ReactNode;
  if (route.page === 'list') view = <VolumeList volumes={volumes} onNavigate={nav} />;
  else if (route.page === 'live') view = <LiveList store={store} onNavigate={nav} />;
  else if (route.page === 'live-device') view = <LiveDevicePage key={route.name} store={store} name={route.name} onNavigate={nav} />;
  else if (route.page === 'create') {
    view = (
      <CreateVolumeForm
        algorithms={algorithms}
        progress={wipe}
        pickPath={pick}
        onLuks={() => nav({ page: 'create-luks' })}
        onCancel={() => nav({ page: 'list' })}
        onSubmit={async (r) => {
          done((await d.call('createVolume', r)).id);
        }}
      />
    );
  } else if (route.page === 'create-luks') {
    view = (
      <LuksCreateVolumeForm
        progress={wipe}
        kdf={formattingId ? formatKdf : undefined}
        pickPath={pick}
        onPlain={() => nav({ page: 'create' })}
        onCancel={() => nav({ page: 'list' })}
        onSubmit={async (r) => {
          done((await d.call('createLuksVolume', r)).id);
        }}
      />
    );
  } else if (route.page === 'add') {
    // a LUKS2 device (recognised by its header) is added locked: its passphrase is asked next
    view = (
      <AddVolumeForm
        algorithms={algorithms}
        pickPath={pick}
        onSubmit={async (r) => {
          const v = await d.call('addVolume', r);
          nav(v.luks?.locked ? { page: 'unlock', id: v.id } : { page: 'volume', id: v.id });
        }}
      />
    );
  } else if (!vol) {
    view = (
      <section aria-labelledby="view-h">
        <h2 id="view-h" tabIndex={-1}>
          {status ? 'No such volume' : 'Loading…'}
        </h2>
        {status ? (
          <p>
            No volume with id “{route.id}” is in the list (it was removed, or the link is from another host).{' '}
            <a
              href={routeHash({ page: 'list' })}
              onClick={(e) => {
                e.preventDefault();
                nav({ page: 'list' });
              }}
            >
              Back to the volumes
            </a>
          </p>
        ) : null}
      </section>
    );
  } else if (route.page === 'volume') view = <VolumePage v={vol} d={d} onNavigate={nav} exporter={exporter} />;
  else if (route.page === 'resize') view = <ResizePage key={vol.id} v={vol} d={d} onDone={() => done(vol.id)} />;
  else if (route.page === 'edit') {
    view = (
      <EditVolumeForm
        key={vol.id}
        v={vol}
        algorithms={algorithms}
        pickPath={pick}
        onCancel={() => done(vol.id)}
        onSubmit={async (r) => {
          await d.call('updateVolume', vol.id, r);
          done(vol.id);
        }}
      />
    );
  } else if (vol.luks) {
    view = (
      <LuksUnlockForm
        key={vol.id}
        v={vol}
        kdf={d.kdfProgress[vol.id]}
        pickPath={pick}
        onCancel={() => done(vol.id)}
        onSubmit={async (r) => {
          await d.call('unlockVolume', vol.id, r);
          done(vol.id);
        }}
      />
    );
  } else {
    view = (
      <UnlockForm
        key={vol.id}
        v={vol}
        pickPath={pick}
        onCancel={() => done(vol.id)}
        onSubmit={async (r) => {
          await d.call('unlockVolume', vol.id, r);
          done(vol.id);
        }}
      />
    );
  }
  return (
    <div className="app">
      <header>
        <h1>
          <a
            href={routeHash({ page: 'list' })}
            onClick={(e) => {
              e.preventDefault();
              nav({ page: 'list' });
            }}
          >
            Integrity Studio
          </a>
        </h1>
        <nav aria-label="Views" className="row small">
          <a
            href={routeHash({ page: 'list' })}
            aria-current={route.page === 'live' || route.page === 'live-device' ? undefined : 'page'}
            onClick={(e) => {
              e.preventDefault();
              nav({ page: 'list' });
            }}
          >
            Volumes
          </a>
          <a
            href={routeHash({ page: 'live' })}
            aria-current={route.page === 'live' || route.page === 'live-device' ? 'page' : undefined}
            onClick={(e) => {
              e.preventDefault();
              nav({ page: 'live' });
            }}
          >
            Kernel devices
          </a>
        </nav>
        <ConnectionBanner c={connection} onRetry={api.reconnectNow ? () => api.reconnectNow!() : undefined} />
        {status && !status.jobs_available ? <span className="warn">recalc/scrub engine not in this build</span> : null}
      </header>
      {message ? (
        <p className="error" role="alert">
          {message}{' '}
          <button type="button" className="secondary" onClick={() => d.setMessage(null)}>
            Dismiss
          </button>
        </p>
      ) : null}
      <main>
        <fieldset className="view" disabled={!connected} aria-describedby={connected ? undefined : 'disconnected-note'}>
          {!connected ? (
            <legend id="disconnected-note" className="sr-only">
              Disabled: not connected to the server
            </legend>
          ) : null}
          {view}
        </fieldset>
      </main>
    </div>
  );
}
