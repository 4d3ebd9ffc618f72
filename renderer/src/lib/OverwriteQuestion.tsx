// The question a format over something that exists asks (the host's ECONFIRM answer names the file or device, its
// size and what it holds): focus goes to the confirming button; Cancel or Escape closes it and returns focus to the
// form's submit button.
import { useEffect, useId, useRef } from 'react';

export function OverwriteQuestion({
  question,
  confirmLabel,
  onConfirm,
  onCancel,
}: {
  question: string;
  confirmLabel: string;
  onConfirm(): void;
  onCancel(): void;
}) {
  const yes = useRef<HTMLButtonElement>(null);
  const id = useId();
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new question takes the focus again
  useEffect(() => {
    yes.current?.focus();
  }, [question]);
  return (
    <div
      role="alertdialog"
      aria-labelledby={`${id}-q`}
      className="confirm"
      data-testid="overwrite-question"
      onKeyDown={(e) => {
        if (e.key === 'Escape') onCancel();
      }}
    >
      <p id={`${id}-q`}>{question}</p>
      <div className="row">
        <button ref={yes} type="button" className="danger" onClick={onConfirm}>
          {confirmLabel}
        </button>
        <button type="button" className="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </div>
  );
}

/** the host asks before destroying what exists (ResponseFrame code ECONFIRM) */
export function needsConfirmation(e: unknown): e is Error & { code: 'ECONFIRM' } {
  return e instanceof Error && (e as Error & { code?: string }).code === 'ECONFIRM';
}
