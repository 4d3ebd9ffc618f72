// Unlock a LUKS2 volume: its passphrase (masked) or a key file on the host. The host runs the keyslot KDF (progress
// shown: an estimate until done), checks the digest, and keeps the volume key; a wrong passphrase is refused with
// cryptsetup's words.
import { useState } from 'react';
import type { UnlockRequest, VolumeSnapshot } from '../../../engine/api.js';
import { Progress } from '../lib/Progress.js';
import { EMPTY_SECRET, SecretField, type SecretForm } from './SecretField.js';

export interface KdfView {
  kdf: string;
  fraction: number;
  elapsed_ms: number;
  estimate_ms: number;
  done: boolean;
}

export function KdfProgress({ p, label }: { p: KdfView | undefined; label: string }) {
  if (!p || p.done) return null;
  return (
    <div role="status">
      <Progress label={label} value={Math.floor(p.fraction * 100)} />
      <span className="muted small">
        {p.kdf}: {(p.elapsed_ms / 1000).toFixed(1)} s of about {(p.estimate_ms / 1000).toFixed(1)} s (an estimate from its costs)
      </span>
    </div>
  );
}

export function LuksUnlockForm({
  v,
  onSubmit,
  onCancel,
  pickPath,
  kdf,
}: {
  v: VolumeSnapshot;
  onSubmit(r: UnlockRequest): Promise<void>;
  onCancel(): void;
  pickPath?: (kind: 'key') => Promise<string | null>;
  kdf?: KdfView;
}) {
  const [s, setS] = useState<SecretForm>(EMPTY_SECRET);
  const [tried, setTried] = useState(false);
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const error = s.source === 'passphrase' ? (s.passphrase ? undefined : 'Passphrase: required') : s.file.trim() ? undefined : 'Key file on the host: required';
  const l = v.luks!;
  const slots = l.keyslots.map((k) => `${k.id} (${k.kdf})`).join(', ');
  return (
    <section aria-labelledby="view-h">
      <h2 id="view-h" tabIndex={-1}>
        Unlock {v.name}
      </h2>
      <p>
        {v.path} is a LUKS2 authenticated volume ({l.cipher} + {l.integrity}, {l.sector_size}-byte sectors; keyslots {slots || 'none'}). Its passphrase opens a
        keyslot; the host keeps the volume key in memory only (it forgets it when it restarts) to read and check the volume.
      </p>
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          setTried(true);
          if (error) {
            setTimeout(() => document.getElementById(s.source === 'passphrase' ? 'luks-unlock-pass' : 'luks-unlock-file')?.focus(), 0);
            return;
          }
          if (busy) return;
          setBusy(true);
          setFailure(null);
          const secret = s.source === 'passphrase' ? { passphrase: s.passphrase } : { file: s.file.trim() };
          void onSubmit({ luksSecret: secret })
            .catch((x: Error) => {
              setFailure(x.message);
              // the passphrase field again, emptied, for the next try
              setS((cur) => ({ ...cur, passphrase: '' }));
              setTried(false);
              setTimeout(() => (document.getElementById('luks-unlock-pass') ?? document.getElementById('luks-unlock-file'))?.focus(), 0);
            })
            .finally(() => setBusy(false));
        }}
      >
        <SecretField
          id="luks-unlock"
          value={s}
          onChange={(x) => {
            setS(x);
            setFailure(null);
          }}
          error={tried ? error : undefined}
          pickPath={pickPath}
        />
        {failure ? (
          <p className="error" role="alert" data-testid="unlock-failure">
            {failure}
          </p>
        ) : null}
        {busy ? <KdfProgress p={kdf} label="Deriving the key" /> : null}
        <div className="row">
          <button type="submit" aria-disabled={busy}>
            {busy ? 'Unlocking…' : 'Unlock'}
          </button>
          <button type="button" className="secondary" onClick={onCancel}>
            Cancel
          </button>
        </div>
      </form>
    </section>
  );
}
