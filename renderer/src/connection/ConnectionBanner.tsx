// Says whether the page is connected to the engine host, and when it is not, why and what to do (the controls
// are disabled meanwhile: the App wraps them in a disabled fieldset).
import { useEffect, useState } from 'react';
import type { Connection } from '../store.js';

export function ConnectionBanner({ c, onRetry }: { c: Connection; onRetry?(): void }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (c.state !== 'disconnected') return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [c.state]);
  if (c.state === 'connected')
    return (
      <span className="conn ok" data-testid="connection">
        connected
      </span>
    );
  if (c.state === 'connecting')
    return (
      <span className="conn muted" data-testid="connection">
        connecting…
      </span>
    );
  const secs = c.retry_at ? Math.max(0, Math.ceil((c.retry_at - now) / 1000)) : null;
  return (
    <div className="conn-banner" role="alert" data-testid="disconnected">
      <strong>Disconnected.</strong> {c.reason ?? 'The connection to the server was lost.'}{' '}
      <span className="muted">Every control is disabled until the page reconnects{secs !== null ? ` (next try in ${secs} s)` : ''}.</span>
      {onRetry ? (
        <>
          {' '}
          <button type="button" className="secondary" onClick={onRetry}>
            Try again now
          </button>
        </>
      ) : null}
    </div>
  );
}
