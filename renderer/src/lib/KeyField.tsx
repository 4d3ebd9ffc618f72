// A key for the host: a key file on the host (read there) or hex digits typed here (masked, with a Show toggle).
// Either way the key goes to the host once and never comes back.
import { useState } from 'react';
import type { KeyForm } from '../forms/open-options.js';

export function KeyField({
  id,
  label,
  value,
  onChange,
  error,
  hint,
  pickPath,
}: {
  id: string;
  label: string;
  value: KeyForm;
  onChange(k: KeyForm): void;
  error?: string;
  hint?: string;
  pickPath?: (kind: 'key') => Promise<string | null>;
}) {
  const [show, setShow] = useState(false);
  return (
    <fieldset className="key field" aria-describedby={error ? `${id}-err` : undefined}>
      <legend>{label}</legend>
      <span className="row" role="radiogroup" aria-label={`${label}: given as`}>
        <label>
          <input type="radio" name={`${id}-src`} checked={value.source === 'hex'} onChange={() => onChange({ ...value, source: 'hex' })} /> hex digits
        </label>
        <label>
          <input type="radio" name={`${id}-src`} checked={value.source === 'file'} onChange={() => onChange({ ...value, source: 'file' })} /> key file on the
          host
        </label>
      </span>
      {value.source === 'hex' ? (
        <span className="row">
          <label htmlFor={`${id}-hex`} className="sr-only">{`${label} (hex)`}</label>
          <input
            id={`${id}-hex`}
            type={show ? 'text' : 'password'}
            autoComplete="off"
            spellCheck={false}
            value={value.hex}
            aria-invalid={!!error}
            onChange={(e) => onChange({ ...value, hex: e.target.value.trim() })}
            placeholder="hex digits"
          />
          <button
            type="button"
            className="secondary"
            aria-pressed={show}
            aria-label={`${show ? 'Hide' : 'Show'} ${label.toLowerCase()}`}
            onClick={() => setShow(!show)}
          >
            {show ? 'Hide' : 'Show'}
          </button>
        </span>
      ) : (
        <span className="row">
          <label htmlFor={`${id}-file`} className="sr-only">{`${label} file`}</label>
          <input
            id={`${id}-file`}
            value={value.file}
            aria-invalid={!!error}
            onChange={(e) => onChange({ ...value, file: e.target.value })}
            placeholder="/path/to/key.bin on the host"
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
      {hint ? <span className="muted small">{hint}</span> : null}
      {error ? (
        <span className="field-error" id={`${id}-err`} role="alert">
          {error}
        </span>
      ) : null}
    </fieldset>
  );
}
