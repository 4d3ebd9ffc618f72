// A LUKS2 passphrase typed here (masked, with a Show toggle) or a key file on the host (read there). Either way it
// goes to the host once, in the command that needs it, and never comes back.
import { useState } from 'react';

export interface SecretForm {
  source: 'passphrase' | 'file';
  passphrase: string;
  file: string;
}
export const EMPTY_SECRET: SecretForm = { source: 'passphrase', passphrase: '', file: '' };

export function SecretField({
  id,
  value,
  onChange,
  error,
  pickPath,
}: {
  id: string;
  value: SecretForm;
  onChange(s: SecretForm): void;
  error?: string;
  pickPath?: (kind: 'key') => Promise<string | null>;
}) {
  const [show, setShow] = useState(false);
  return (
    <fieldset className="key field" aria-describedby={error ? `${id}-err` : undefined}>
      <legend>Passphrase</legend>
      <span className="row" role="radiogroup" aria-label="Passphrase: given as">
        <label>
          <input type="radio" name={`${id}-src`} checked={value.source === 'passphrase'} onChange={() => onChange({ ...value, source: 'passphrase' })} /> typed
          here
        </label>
        <label>
          <input type="radio" name={`${id}-src`} checked={value.source === 'file'} onChange={() => onChange({ ...value, source: 'file' })} /> key file on the
          host
        </label>
      </span>
      {value.source === 'passphrase' ? (
        <span className="row">
          <label htmlFor={`${id}-pass`} className="sr-only">
            Passphrase
          </label>
          <input
            id={`${id}-pass`}
            type={show ? 'text' : 'password'}
            autoComplete="off"
            spellCheck={false}
            value={value.passphrase}
            aria-invalid={!!error}
            onChange={(e) => onChange({ ...value, passphrase: e.target.value })}
          />
          <button type="button" className="secondary" aria-pressed={show} aria-label={`${show ? 'Hide' : 'Show'} passphrase`} onClick={() => setShow(!show)}>
            {show ? 'Hide' : 'Show'}
          </button>
        </span>
      ) : (
        <span className="row">
          <label htmlFor={`${id}-file`} className="sr-only">
            Key file
          </label>
          <input
            id={`${id}-file`}
            value={value.file}
            aria-invalid={!!error}
            onChange={(e) => onChange({ ...value, file: e.target.value })}
            placeholder="/path/to/keyfile on the host"
          />
          {pickPath ? (
            <button
              type="button"
              className="secondary"
              onClick={() => {
                void pickPath('key').then((p) => {
                  if (p) onChange({ ...value, file: p });
                });
              }}
            >
              Choose key file…
            </button>
          ) : null}
        </span>
      )}
      <span className="muted small">
        {value.source === 'file' ? 'its bytes are the passphrase (as cryptsetup --key-file)' : 'sent to the host once; never stored or shown again'}
      </span>
      {error ? (
        <span className="field-error" id={`${id}-err`} role="alert">
          {error}
        </span>
      ) : null}
    </fieldset>
  );
}
