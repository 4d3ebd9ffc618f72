// A button for a destructive or position-losing action: it asks first, inline (focus goes to the confirming
// button; Cancel or Escape returns it to the button that asked).
import { useEffect, useId, useRef, useState, type ReactNode } from 'react';

export function ConfirmButton({
  label,
  confirmLabel,
  question,
  onConfirm,
  disabled,
  className,
}: {
  label: string;
  confirmLabel: string;
  question: ReactNode;
  onConfirm(): undefined | Promise<unknown>;
  disabled?: boolean;
  className?: string;
}) {
  const [open, setOpen] = useState(false);
  const trigger = useRef<HTMLButtonElement>(null);
  const yes = useRef<HTMLButtonElement>(null);
  const id = useId();
  const wasOpen = useRef(false);
  useEffect(() => {
    if (open) yes.current?.focus();
    else if (wasOpen.current) trigger.current?.focus();
    wasOpen.current = open;
  }, [open]);
  return (
    <span className="confirm-wrap">
      <button ref={trigger} type="button" className={className} disabled={disabled} aria-expanded={open} onClick={() => setOpen(true)}>
        {label}
      </button>
      {open ? (
        <span
          role="alertdialog"
          aria-labelledby={`${id}-q`}
          className="confirm"
          onKeyDown={(e) => {
            if (e.key === 'Escape') setOpen(false);
          }}
        >
          <span id={`${id}-q`}>{question}</span>
          <span className="row">
            <button
              ref={yes}
              type="button"
              className="danger"
              onClick={() => {
                setOpen(false);
                void onConfirm();
              }}
            >
              {confirmLabel}
            </button>
            <button type="button" className="secondary" onClick={() => setOpen(false)}>
              Cancel
            </button>
          </span>
        </span>
      ) : null}
    </span>
  );
}
