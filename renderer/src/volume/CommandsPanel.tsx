// The same volume with the kernel: `integritysetup open …` and the dm table line, as the host builds them from
// every open option (quoted for a POSIX shell; keys as key files, never their bytes).
import type { VolumeSnapshot } from '../../../engine/api.js';

export function CommandsPanel({ v }: { v: VolumeSnapshot }) {
  return (
    <section className="panel" aria-labelledby="commands-h">
      <h3 id="commands-h" tabIndex={-1}>
        Open with the kernel
      </h3>
      <figure className="cmd-box" aria-label="Equivalent open command">
        <pre className="cmd">{v.open_command}</pre>
      </figure>
      {v.dm_table ? (
        <figure className="cmd-box" aria-label="dm table line">
          <pre className="cmd">{v.dm_table}</pre>
        </figure>
      ) : null}
    </section>
  );
}
