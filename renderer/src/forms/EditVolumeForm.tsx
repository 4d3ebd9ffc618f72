// Edit a volume in the list: its name, open options and the speed limit of its jobs. Key fields left empty keep the keys the host holds.
import { useState } from 'react';
import type { UpdateVolumeRequest, VolumeSnapshot } from '../../../engine/api.js';
import { Field } from '../lib/Field.js';
import { openCommand } from './create-form.js';
import { openFormFrom, openRequest, validateOpen, type OpenForm } from './open-options.js';
import { OpenOptionsFields } from './OpenOptionsFields.js';
import { inFormWords } from './words.js';

export function EditVolumeForm({
  v,
  algorithms,
  onSubmit,
  onCancel,
  pickPath,
}: {
  v: VolumeSnapshot;
  algorithms: string[];
  onSubmit(r: UpdateVolumeRequest): Promise<void>;
  onCancel(): void;
  pickPath?: (kind: 'key') => Promise<string | null>;
}) {
  const [name, setName] = useState(v.name);
  const [limit, setLimit] = useState(v.speed_limit_mib_s ? String(v.speed_limit_mib_s) : '');
  const [f, setF] = useState<OpenForm>(() => openFormFrom(v.options));
  const [tried, setTried] = useState(false);
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  // a LUKS2 volume's header holds its cipher and integrity: only its name and speed limit are ours to change
  const luks = !!v.luks;
  const errors = luks ? {} : validateOpen(f, { keysOptional: true });
  const nameError = name.trim() ? undefined : 'Name: required';
  const limitError = limitProblem(limit);
  const shown = tried ? errors : {};
  return (
    <section aria-labelledby="view-h">
      <h2 id="view-h" tabIndex={-1}>
        Edit {v.name}
      </h2>
      <p className="muted">
        {v.path}.{' '}
        {luks
          ? 'Its LUKS2 header holds its cipher and integrity; here you change only what the dashboard keeps'
          : 'Changing the open options changes how the host reads the volume'}
        ; nothing is written to the image.
      </p>
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          setTried(true);
          if (nameError || limitError || Object.keys(errors).length) {
            (e.currentTarget.querySelector('[aria-invalid="true"]') as HTMLElement | null)?.focus();
            return;
          }
          if (busy) return;
          setBusy(true);
          setFailure(null);
          void onSubmit({ ...(luks ? {} : openRequest(f)), name: name.trim(), speedLimitMiBs: limit.trim() ? Number(limit.trim()) : 0 })
            .catch((x: Error) => setFailure(inFormWords(x.message)))
            .finally(() => setBusy(false));
        }}
      >
        <Field label="Name" id="edit-name" error={tried ? nameError : undefined}>
          <input id="edit-name" value={name} aria-invalid={tried && !!nameError} onChange={(e) => setName(e.target.value)} />
        </Field>
        {luks ? null : (
          <OpenOptionsFields prefix="edit" f={f} set={(p) => setF({ ...f, ...p })} errors={shown} algorithms={algorithms} keysOptional pickPath={pickPath} />
        )}
        <fieldset className="group">
          <legend>{luks ? 'Scrub' : 'Recalculation and scrub'}</legend>
          <p className="muted small">A speed limit leaves the disk to its users while a job runs; it applies from the next start or resume.</p>
          <div className="grid">
            <Field
              label="Speed limit (MiB/s)"
              id="edit-speed-limit"
              error={tried ? limitError : undefined}
              hint={"Empty: as fast as the hardware goes. The CLI's option is \u2011\u2011max\u2011rate; the kernel has no such setting."}
            >
              <input
                id="edit-speed-limit"
                inputMode="numeric"
                value={limit}
                placeholder="no limit"
                aria-invalid={tried && !!limitError}
                aria-describedby="edit-speed-limit-hint"
                onChange={(e) => setLimit(e.target.value)}
              />
            </Field>
          </div>
        </fieldset>
        {luks ? null : (
          <>
            <p>Equivalent command:</p>
            <figure className="cmd-box" aria-label="Equivalent open command">
              <pre className="cmd">{openCommand(v.path, f)}</pre>
            </figure>
          </>
        )}
        {failure ? (
          <p className="error" role="alert">
            Not saved: {failure}
          </p>
        ) : null}
        <div className="row">
          <button type="submit" aria-disabled={busy}>
            {busy ? 'Saving…' : 'Save'}
          </button>
          <button type="button" className="secondary" onClick={onCancel}>
            Cancel
          </button>
        </div>
      </form>
    </section>
  );
}

/** empty (no limit) or a whole number of MiB/s from 1 to 1048576, as the host takes it */
export function limitProblem(s: string): string | undefined {
  const t = s.trim();
  if (!t) return undefined;
  if (!/^\d+$/.test(t) || Number(t) < 1 || Number(t) > 1048576) return 'Speed limit: a whole number of MiB/s from 1 to 1048576, or empty for no limit';
  return undefined;
}
