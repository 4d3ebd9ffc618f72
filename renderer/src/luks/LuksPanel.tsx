// What a LUKS2 header says, read without a key (as `integrity-studio luks-dump` / `cryptsetup luksDump`): the data
// segment's cipher, integrity and sector size, the keyslots and their KDFs, damaged header copies, the full dump.
import type { VolumeSnapshot } from '../../../engine/api.js';
import { formatCount } from '../lib/format.js';

export function LuksPanel({ v }: { v: VolumeSnapshot }) {
  const l = v.luks!;
  return (
    <section className="panel" aria-labelledby="luks-h">
      <h3 id="luks-h" tabIndex={-1}>
        LUKS2 header
      </h3>
      {l.damaged.map((d) => (
        <p key={d} className="warn" role="status">
          {d}
        </p>
      ))}
      <dl className="kv" aria-label="LUKS2 data segment">
        <dt>Cipher</dt>
        <dd data-testid="luks-cipher">{l.cipher}</dd>
        <dt>Integrity</dt>
        <dd data-testid="luks-integrity">{l.integrity ?? 'none'}</dd>
        <dt>Sector size</dt>
        <dd data-testid="luks-sector">{formatCount(l.sector_size)} bytes</dd>
        <dt>Volume key</dt>
        <dd>
          {l.volume_key_bits} bits · {l.locked ? 'not held by the host (locked)' : 'held by the host (unlocked)'}
        </dd>
        <dt>Data offset</dt>
        <dd>{formatCount(l.data_offset)} bytes</dd>
        <dt>UUID</dt>
        <dd>{l.uuid}</dd>
        {l.label ? (
          <>
            <dt>Label</dt>
            <dd>{l.label}</dd>
          </>
        ) : null}
      </dl>
      <div className="table-wrap">
        <table aria-label="Keyslots">
          <thead>
            <tr>
              <th>Keyslot</th>
              <th>KDF</th>
              <th>Costs</th>
              <th>Area cipher</th>
              <th>Key</th>
              <th>Priority</th>
            </tr>
          </thead>
          <tbody>
            {l.keyslots.map((k) => (
              <tr key={k.id}>
                <td>{k.id}</td>
                <td>{k.kdf}</td>
                <td>
                  {k.kdf === 'pbkdf2'
                    ? `${k.hash}, ${formatCount(k.iterations ?? 0)} iterations`
                    : `time ${k.time}, memory ${formatCount(k.memory_kib ?? 0)} KiB, ${k.threads} threads`}
                </td>
                <td>{k.cipher}</td>
                <td>{k.key_bits} bits</td>
                <td>{k.priority}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <details>
        <summary>Full header (luks-dump)</summary>
        <figure className="cmd-box" aria-label="luks-dump output">
          <pre className="cmd">{l.dump}</pre>
        </figure>
      </details>
    </section>
  );
}
