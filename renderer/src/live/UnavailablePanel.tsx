// One clear panel when the live features cannot work here: why (in the host's words) and what to do.
import type { LiveAvailability } from '../../../engine/api.js';

export function UnavailablePanel({ a }: { a: LiveAvailability }) {
  return (
    <section className="panel" aria-labelledby="live-unavailable-h" data-testid="live-unavailable">
      <h3 id="live-unavailable-h">Kernel devices are not available here</h3>
      <p role="status">{a.reason ?? 'The live features cannot run on this machine.'}</p>
      <p className="muted">
        Everything else works as before: images and devices that nothing else has open are checked, recalculated and scrubbed by the app's own engine. Reading
        device-mapper and controlling it needs root: run <code>integrity-studio serve</code> as root, or install the privileged helper and its polkit policy
        (the desktop app asks for the administrator password through pkexec).
      </p>
    </section>
  );
}
