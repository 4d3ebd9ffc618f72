// The dashboard shell: connects the bridge to the store (events batched per animation frame) and routes views.
import { useEffect, useMemo } from 'react';
import { useStore } from 'zustand';
import type { IntegrityApi } from '../../engine/api.js';
import { createEventBatcher, type DashboardStore } from './store.js';
import { AddVolumeForm, CreateVolumeForm, VolumeList, VolumePage } from './components.js';
import { toRequest } from './form.js';

export function App({ store, api }: { store: DashboardStore; api: IntegrityApi }) {
  const d = useStore(store);
  useEffect(() => {
    const batch = createEventBatcher((evs) => store.getState().applyEvents(evs), (fn) => requestAnimationFrame(() => fn()));
    const off = api.onEvent(batch);
    api.status().then((s) => store.getState().setStatus(s), (e: Error) => store.getState().setMessage(e.message));
    return off;
  }, [api, store]);
  const onError = useMemo(() => (m: string) => store.getState().setMessage(m), [store]);
  const view = d.view;
  const formatting = d.order.map((id) => d.volumes[id]).find((v) => v?.state === 'formatting');
  const wipe = formatting ? d.formatProgress[formatting.id] ?? { done: 0, total: 1 } : null;
  const vol = view.page === 'volume' ? d.volumes[view.id] : undefined;
  return (
    <div className="app">
      <header><h1>Integrity Studio</h1><span className={d.connected ? 'ok' : 'muted'}>{d.connected ? 'connected' : 'connecting…'}</span>
        {d.status && !d.status.jobs_available ? <span className="warn">recalc/scrub engine not in this build</span> : null}</header>
      {d.message ? <p className="error" role="alert">{d.message} <button onClick={() => d.setMessage(null)}>Dismiss</button></p> : null}
      <main>
        {view.page === 'list' ? <VolumeList d={d} onOpen={(id) => d.navigate({ page: 'volume', id })} onCreate={() => d.navigate({ page: 'create' })} onAdd={() => d.navigate({ page: 'add' })} /> : null}
        {view.page === 'add' ? (
          <>
            <button onClick={() => d.navigate({ page: 'list' })}>← Volumes</button>
            <AddVolumeForm algorithms={d.status?.algorithms ?? ['crc32c']} onSubmit={async (r) => {
              try {
                const v = await api.addVolume(r);
                store.getState().applyEvents([{ type: 'volume', volume: v }]);
                d.navigate({ page: 'volume', id: v.id });
              } catch (e) { onError((e as Error).message); }
            }} />
          </>
        ) : null}
        {view.page === 'create' ? (
          <>
            <button onClick={() => d.navigate({ page: 'list' })}>← Volumes</button>
            <CreateVolumeForm algorithms={d.status?.algorithms ?? ['crc32c']} progress={wipe} pickPath={api.pickPath ? (k) => api.pickPath!(k) : undefined} onSubmit={async (f) => {
              try {
                const v = await api.createVolume(toRequest(f));
                store.getState().applyEvents([{ type: 'volume', volume: v }]);
                d.navigate({ page: 'volume', id: v.id });
              } catch (e) { onError((e as Error).message); }
            }} />
          </>
        ) : null}
        {view.page === 'volume' && vol ? <VolumePage v={vol} api={api} rates={d.rates[vol.id]} onBack={() => d.navigate({ page: 'list' })} onError={onError} /> : null}
      </main>
    </div>
  );
}
