// Unlock: the keys a volume needs and the host does not hold (keys are forgotten when the host restarts). Each as
// a key file on the host or masked hex digits; they go to the host once and are never shown again.
import { useState } from 'react';
import type { UnlockRequest, VolumeSnapshot } from '../../../engine/api.js';
import { KeyField } from '../lib/KeyField.js';
import { EMPTY_KEY, keyInput, keyProblem, LABELS, type KeyForm } from './open-options.js';
import { inFormWords } from './words.js';

type K = 'integrity' | 'journalIntegrity' | 'journalCrypt';
const FIELDS: Array<{ k: K; label: string; req: Exclude<keyof UnlockRequest, 'luksSecret'>; alg(v: VolumeSnapshot): string | null }> = [
  { k: 'integrity', label: LABELS.integrityKey, req: 'integrityKey', alg: (v) => v.options.integrity },
  { k: 'journalIntegrity', label: LABELS.journalIntegrityKey, req: 'journalIntegrityKey', alg: (v) => v.options.journal_integrity },
  { k: 'journalCrypt', label: LABELS.journalCryptKey, req: 'journalCryptKey', alg: (v) => v.options.journal_crypt },
];

export function UnlockForm({
  v,
  onSubmit,
  onCancel,
  pickPath,
}: {
  v: VolumeSnapshot;
  onSubmit(r: UnlockRequest): Promise<void>;
  onCancel(): void;
  pickPath?: (kind: 'key') => Promise<string | null>;
}) {
  const [keys, setKeys] = useState<Record<K, KeyForm>>({ integrity: EMPTY_KEY, journalIntegrity: EMPTY_KEY, journalCrypt: EMPTY_KEY });
  const [tried, setTried] = useState(false);
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const needed = FIELDS.filter((x) => v.keys_required[x.k]);
  const errors: Partial<Record<K, string>> = {};
  for (const x of needed) {
    const p = keyProblem(keys[x.k], x.label, !v.keys[x.k], v.keys[x.k]);
    if (p) errors[x.k] = p;
  }
  return (
    <section aria-labelledby="view-h">
      <h2 id="view-h" tabIndex={-1}>
        Unlock {v.name}
      </h2>
      <p>
        {v.path} uses{' '}
        {needed
          .map((x) => x.alg(v))
          .filter(Boolean)
          .join(', ') || 'no keyed algorithm'}
        . The host forgets keys when it restarts (they are never written to disk), so it needs them again to read and check this volume.
      </p>
      {needed.length === 0 ? (
        <p>This volume needs no key.</p>
      ) : (
        <form
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            setTried(true);
            if (Object.keys(errors).length) {
              (e.currentTarget.querySelector('[aria-invalid="true"]') as HTMLElement | null)?.focus();
              return;
            }
            if (busy) return;
            const r: UnlockRequest = {};
            for (const x of needed) {
              const k = keyInput(keys[x.k]);
              if (k) r[x.req] = k;
            }
            setBusy(true);
            setFailure(null);
            void onSubmit(r)
              .catch((x: Error) => setFailure(inFormWords(x.message)))
              .finally(() => setBusy(false));
          }}
        >
          {needed.map((x) => (
            <KeyField
              key={x.k}
              id={`unlock-${x.k}`}
              label={x.label}
              value={keys[x.k]}
              onChange={(k) => setKeys({ ...keys, [x.k]: k })}
              error={tried ? errors[x.k] : undefined}
              hint={`for ${x.alg(v) ?? 'this volume'}${v.keys[x.k] ? '; the host holds this key: leave empty to keep it' : ''}`}
              pickPath={pickPath}
            />
          ))}
          {failure ? (
            <p className="error" role="alert">
              Not unlocked: {failure}
            </p>
          ) : null}
          <div className="row">
            <button type="submit" aria-disabled={busy}>
              {busy ? 'Unlocking…' : 'Unlock'}
            </button>
            <button type="button" className="secondary" onClick={onCancel}>
              Cancel
            </button>
          </div>
        </form>
      )}
    </section>
  );
}
