// The live pages' fetches: the overview (every 5 s while shown), a watch renewed every 5 s while a device page is
// open (the host's lease is 15 s: a closed tab stops renewing and the host stops sampling), and plans.
import { useCallback, useEffect, useState } from 'react';
import type { LiveOverview } from '../../../engine/api.js';
import type { DashboardStore } from '../store.js';

export const OVERVIEW_MS = 5000;
export const RENEW_MS = 5000;

export function useOverview(store: DashboardStore, connected: boolean): { overview: LiveOverview | null; error: string | null; refresh(): void } {
  const [overview, setOverview] = useState<LiveOverview | null>(null);
  const [error, setError] = useState<string | null>(null);
  const refresh = useCallback(() => {
    store
      .getState()
      .call('liveVolumes')
      .then(
        (o) => {
          setOverview(o);
          setError(null);
        },
        (e: Error) => setError(e.message),
      );
  }, [store]);
  useEffect(() => {
    if (!connected) return;
    refresh();
    const t = setInterval(refresh, OVERVIEW_MS);
    return () => clearInterval(t);
  }, [refresh, connected]);
  return { overview, error, refresh };
}

export function useWatch(store: DashboardStore, name: string, connected: boolean, enabled: boolean): string | null {
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!connected || !enabled) return;
    const renew = () =>
      store
        .getState()
        .call('watchLive', name)
        .then(
          (w) => {
            setError(w.error);
            if (w.snapshot) store.getState().applyEvents([{ type: 'live', name, snapshot: w.snapshot }]);
          },
          (e: Error) => setError(e.message),
        );
    renew();
    const t = setInterval(renew, RENEW_MS);
    return () => clearInterval(t);
  }, [store, name, connected, enabled]);
  return error;
}
