// A labelled form control with its one-line error (role=alert, so it is read out when it appears).
import type { ReactNode } from 'react';

export function Field({ label, id, error, hint, children }: { label: string; id: string; error?: string; hint?: string; children: ReactNode }) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children}
      {hint ? (
        <span className="muted small" id={`${id}-hint`}>
          {hint}
        </span>
      ) : null}
      {error ? (
        <span className="field-error" id={`${id}-err`} role="alert">
          {error}
        </span>
      ) : null}
    </div>
  );
}

export function Check({
  id,
  label,
  checked,
  onChange,
  error,
  disabled,
}: {
  id: string;
  label: string;
  checked: boolean;
  onChange(v: boolean): void;
  error?: string;
  disabled?: boolean;
}) {
  return (
    <div className="field check">
      <input type="checkbox" id={id} checked={checked} disabled={disabled} onChange={(e) => onChange(e.target.checked)} />
      <label htmlFor={id}>{label}</label>
      {error ? (
        <span className="field-error" role="alert">
          {error}
        </span>
      ) : null}
    </div>
  );
}
