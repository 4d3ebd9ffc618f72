// Add an image or device that already holds a dm-integrity volume (made by integritysetup, the kernel or us). The
// algorithms and keys are not on disk: they are asked for, as integritysetup open does; keys go to the host once.
import { useState } from 'react';
import type { AddVolumeRequest } from '../../../engine/api.js';
import { Field } from '../lib/Field.js';
import { openCommand } from './create-form.js';
import { DEFAULT_OPEN, openRequest, validateOpen, type OpenForm } from './open-options.js';
import { OpenOptionsFields } from './OpenOptionsFields.js';
import { inFormWords } from './words.js';

export function AddVolumeForm({
  algorithms,
  onSubmit,
  pickPath,
}: {
  algorithms: string[];
  onSubmit(r: AddVolumeRequest): Promise<void>;
  pickPath?: (kind: 'open' | 'save' | 'key') => Promise<string | null>;
}) {
  const [path, setPath] = useState('');
  const [name, setName] = useState('');
  const [f, setF] = useState<OpenForm>(DEFAULT_OPEN);
  const [tried, setTried] = useState(false);
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const errors = validateOpen(f);
  const pathError = path.trim() ? undefined : 'Image or device: required (the file or block device that holds the volume)';
  const shown = tried ? errors : {};
  return (
    <section aria-labelledby="view-h">
      <h2 id="view-h" tabIndex={-1}>
        Add existing image
      </h2>
      <p className="muted">
        A LUKS2 authenticated volume (cryptsetup luksFormat --integrity) is recognised by its header: its passphrase is asked next, and the open options below
        do not apply to it.
      </p>
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          setTried(true);
          if (pathError || Object.keys(errors).length) {
            (e.currentTarget.querySelector('[aria-invalid="true"]') as HTMLElement | null)?.focus();
            return;
          }
          if (busy) return;
          setBusy(true);
          setFailure(null);
          void onSubmit({ ...openRequest(f), path: path.trim(), ...(name.trim() ? { name: name.trim() } : {}) })
            .catch((x: Error) => setFailure(inFormWords(x.message)))
            .finally(() => setBusy(false));
        }}
      >
        <fieldset className="group">
          <legend>Image</legend>
          <div className="grid">
            <Field label="Image or device" id="add-path" error={tried ? pathError : undefined}>
              <input
                id="add-path"
                value={path}
                aria-invalid={tried && !!pathError}
                onChange={(e) => {
                  setPath(e.target.value);
                  setFailure(null);
                }}
                placeholder="/path/to/volume.img"
              />
            </Field>
            {pickPath ? (
              <button
                type="button"
                className="secondary"
                onClick={() => {
                  void pickPath('open').then((p) => {
                    if (p) setPath(p);
                  });
                }}
              >
                Choose image file…
              </button>
            ) : null}
            <Field label="Name" id="add-name">
              <input id="add-name" value={name} onChange={(e) => setName(e.target.value)} placeholder="the file name" />
            </Field>
          </div>
        </fieldset>
        <OpenOptionsFields
          prefix="add"
          f={f}
          set={(p) => {
            setF({ ...f, ...p });
            setFailure(null);
          }}
          errors={shown}
          algorithms={algorithms}
          pickPath={pickPath}
        />
        <p>Equivalent command (keys as key files; quoted for a POSIX shell):</p>
        <figure className="cmd-box" aria-label="Equivalent open command">
          <pre className="cmd">{openCommand(path, f)}</pre>
        </figure>
        {failure ? (
          <p className="error" role="alert">
            Not added: {failure}
          </p>
        ) : null}
        <button type="submit" aria-disabled={busy}>
          {busy ? 'Adding…' : 'Add volume'}
        </button>
      </form>
    </section>
  );
}
