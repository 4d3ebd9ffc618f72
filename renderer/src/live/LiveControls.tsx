// The controls of one kernel device, each with its equivalent commands and cost: a confirm step naming the cost
// where the plan asks (I/O stops), the refusal in the owner's words where another tool owns the device. Plans come
// from the host (planLive) and are asked again whenever the device's state changes.
import { useEffect, useState } from 'react';
import type { ControlAction, ControlPlan } from '../../../engine/api.js';
import { ConfirmButton } from '../lib/ConfirmButton.js';
import type { DashboardStore } from '../store.js';
import { CONTROL_LABELS, CONTROL_ORDER, NO_PAUSE } from './live-words.js';

type Action = Exclude<ControlAction, 'activate'>;

export const PLAN_MS = 15_000;

export function LiveControls({ store, name, stateKey, onDone }: { store: DashboardStore; name: string; stateKey: string; onDone(): void }) {
  const [plans, setPlans] = useState<Partial<Record<Action, ControlPlan>>>({});
  const [error, setError] = useState<string | null>(null);
  const [result, setResult] = useState<string | null>(null);
  const [busy, setBusy] = useState<Action | null>(null);
  useEffect(() => {
    let live = true;
    void stateKey; // asked again when the device's state changes
    const ask = () =>
      Promise.all(
        CONTROL_ORDER.map((a) =>
          store
            .getState()
            .call('planLive', { action: a, name })
            .then((p) => [a, p] as const),
        ),
      ).then(
        (all) => {
          if (live) {
            setPlans(Object.fromEntries(all));
            setError(null);
          }
        },
        (e: Error) => {
          if (live) setError(e.message);
        },
      );
    void ask();
    // the figures a plan quotes (a position, what holds the device) age: asked again now and then
    const t = setInterval(() => void ask(), PLAN_MS);
    return () => {
      live = false;
      clearInterval(t);
    };
  }, [store, name, stateKey]);
  const run = (a: Action, confirm: boolean) => {
    setBusy(a);
    setResult(null);
    return store
      .getState()
      .call('controlLive', { action: a, name, ...(confirm ? { confirm: true } : {}) })
      .then(
        (r) => {
          setResult(r.message);
          setError(null);
          setBusy(null);
          onDone();
        },
        (e: Error) => {
          setError(e.message);
          setBusy(null);
        },
      );
  };
  return (
    <section className="panel" aria-labelledby="controls-h" data-testid="live-controls">
      <h3 id="controls-h">Controls</h3>
      <p className="small">{NO_PAUSE}</p>
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
      {result ? (
        <p className="ok" role="status">
          {result}
        </p>
      ) : null}
      <ul className="plain">
        {CONTROL_ORDER.map((a) => {
          const p = plans[a];
          if (!p) return null;
          const label = CONTROL_LABELS[a];
          return (
            <li key={a} className="control" data-testid={`control-${a}`}>
              <div className="row">
                {p.refused ? (
                  <button type="button" disabled aria-describedby={`refused-${a}`}>
                    {label}
                  </button>
                ) : p.confirm ? (
                  <ConfirmButton
                    label={label}
                    confirmLabel={label}
                    disabled={busy !== null}
                    question={
                      <>
                        {p.confirm} {p.cost}
                      </>
                    }
                    onConfirm={() => run(a, true)}
                  />
                ) : (
                  <button type="button" disabled={busy !== null} aria-busy={busy === a} onClick={() => void run(a, false)}>
                    {label}
                  </button>
                )}
              </div>
              {p.refused ? (
                <p className="small warn" id={`refused-${a}`}>
                  Refused: {p.refused}
                </p>
              ) : (
                <p className="small muted">{p.cost}</p>
              )}
              {p.refused ? (
                // not offered as something to run by hand: the refusal says what to use instead
                <details className="small">
                  <summary>The command it would run</summary>
                  <figure className="cmd-box" aria-label={`Equivalent command: ${label}`}>
                    <pre className="cmd">{p.commands.join('\n')}</pre>
                  </figure>
                </details>
              ) : (
                <figure className="cmd-box" aria-label={`Equivalent command: ${label}`}>
                  <pre className="cmd">{p.commands.join('\n')}</pre>
                </figure>
              )}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
