// Create a volume: a new sparse image (with a size) or an existing file or device (size left empty), with every
// format and open option; the equivalent commands below, updated as you type.
import { useRef, useState } from 'react';
import type { CreateVolumeRequest } from '../../../engine/api.js';
import { Check, Field } from '../lib/Field.js';
import { Progress } from '../lib/Progress.js';
import { CREATE_LABELS as L, DEFAULT_FORM, formatCommand, openCommand, toRequest, validateForm, type CreateForm } from './create-form.js';
import { OpenOptionsFields } from './OpenOptionsFields.js';
import { inFormWords } from './words.js';
import { needsConfirmation, OverwriteQuestion } from '../lib/OverwriteQuestion.js';

export function CreateVolumeForm({
  algorithms,
  onSubmit,
  onCancel,
  progress,
  pickPath,
  initial = DEFAULT_FORM,
  onLuks,
}: {
  algorithms: string[];
  onSubmit(r: CreateVolumeRequest): Promise<void>;
  onCancel?: () => void;
  progress?: { done: number; total: number } | null;
  pickPath?: (kind: 'open' | 'save' | 'key') => Promise<string | null>;
  initial?: CreateForm;
  /** the LUKS2 authenticated-encryption form (renderer/src/luks) */
  onLuks?: () => void;
}) {
  const [f, setF] = useState<CreateForm>(initial);
  const [busy, setBusy] = useState(false);
  const [tried, setTried] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  // the host's question before formatting over something that exists (what it is, its size, what it holds)
  const [question, setQuestion] = useState<string | null>(null);
  const submitRef = useRef<HTMLButtonElement>(null);
  const errors = validateForm(f);
  const shown = tried ? errors : {};
  // a change makes the last refusal (and question) stale
  const set = (patch: Partial<CreateForm>) => {
    setF({ ...f, ...patch });
    setFailure(null);
    setQuestion(null);
  };
  const send = (force: boolean) => {
    setBusy(true);
    setFailure(null);
    setQuestion(null);
    void onSubmit({ ...toRequest(f), force })
      .catch((x: Error) => {
        if (needsConfirmation(x) && !force) setQuestion(x.message);
        else setFailure(inFormWords(x.message));
      })
      .finally(() => setBusy(false));
  };
  const text = (k: 'path' | 'sizeMiB' | 'name' | 'tagSize' | 'journalSizeKiB' | 'interleaveSectors' | 'bufferSectors', placeholder = '', hint?: string) => (
    <Field label={L[k]} id={`f-${k}`} error={shown[k]} hint={hint}>
      <input id={`f-${k}`} value={f[k]} placeholder={placeholder} onChange={(e) => set({ [k]: e.target.value })} aria-invalid={!!shown[k]} />
    </Field>
  );
  return (
    <section aria-labelledby="view-h">
      <h2 id="view-h" tabIndex={-1}>
        Create volume
      </h2>
      {onLuks ? (
        <p>
          A dm-integrity volume with its own checksums. {/* biome-ignore lint/a11y/useValidAnchor: a real address (the route), opened in place */}
          <a
            href="#/create/luks"
            onClick={(e) => {
              e.preventDefault();
              onLuks();
            }}
          >
            Create a LUKS2 authenticated (encrypted) volume instead
          </a>
        </p>
      ) : null}
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          setTried(true);
          const first = Object.keys(errors)[0];
          if (first) {
            (e.currentTarget.querySelector('[aria-invalid="true"], .field-error') as HTMLElement | null)?.focus();
            return;
          }
          if (busy) return;
          send(false);
        }}
      >
        <fieldset className="group">
          <legend>Image</legend>
          <div className="grid">
            {text('path', '/path/to/volume.img')}
            {pickPath ? (
              <button
                type="button"
                className="secondary"
                onClick={() => {
                  void pickPath('save').then((p) => {
                    if (p) set({ path: p });
                  });
                }}
              >
                Choose image file…
              </button>
            ) : null}
            {text('sizeMiB', 'empty: as it is', 'a new sparse file of this size is created; leave empty for an existing file or device')}
            {text('name', 'the file name')}
          </div>
        </fieldset>
        <OpenOptionsFields prefix="f" f={f} set={set} errors={shown} algorithms={algorithms} pickPath={pickPath} />
        <fieldset className="group">
          <legend>Layout</legend>
          <div className="grid">
            {text('tagSize', 'algorithm default')}
            <Field label={L.sectorSize} id="f-sectorSize" error={shown.sectorSize}>
              <select id="f-sectorSize" value={f.sectorSize} onChange={(e) => set({ sectorSize: e.target.value })}>
                {['512', '1024', '2048', '4096'].map((s) => (
                  <option key={s} value={s}>
                    {s} bytes
                  </option>
                ))}
              </select>
            </Field>
            {text('journalSizeKiB', 'kernel default')}
            {text('interleaveSectors', '32768')}
            {text('bufferSectors', '128')}
          </div>
          <div className="checks">
            <Check id="f-noWipe" label={L.noWipe} checked={f.noWipe} onChange={(v) => set({ noWipe: v })} />
            <Check
              id="f-integrityRecalculate"
              label={L.integrityRecalculate}
              checked={f.integrityRecalculate}
              onChange={(v) => set({ integrityRecalculate: v })}
              error={shown.integrityRecalculate}
            />
            <Check id="f-legacyPadding" label={L.legacyPadding} checked={f.legacyPadding} onChange={(v) => set({ legacyPadding: v })} />
            <Check id="f-legacyHmac" label={L.legacyHmac} checked={f.legacyHmac} onChange={(v) => set({ legacyHmac: v })} />
          </div>
        </fieldset>
        <p>Equivalent commands (keys as key files; quoted for a POSIX shell):</p>
        <figure className="cmd-box" aria-label="Equivalent format command">
          <pre className="cmd">{formatCommand(f)}</pre>
        </figure>
        <figure className="cmd-box" aria-label="Equivalent open command">
          <pre className="cmd">{openCommand(f.path, f)}</pre>
        </figure>
        {failure ? (
          <p className="error" role="alert">
            Not created: {failure}
          </p>
        ) : null}
        {question ? (
          <OverwriteQuestion
            question={question}
            confirmLabel="Format and erase it"
            onConfirm={() => send(true)}
            onCancel={() => {
              setQuestion(null);
              submitRef.current?.focus();
            }}
          />
        ) : null}
        <div className="row">
          <button ref={submitRef} type="submit" aria-disabled={busy}>
            {busy ? 'Creating…' : 'Create'}
          </button>
          {onCancel ? (
            <button type="button" className="secondary" onClick={onCancel}>
              Cancel
            </button>
          ) : null}
        </div>
        {progress ? <Progress label="Wipe progress" value={progress.total ? Math.floor((progress.done / progress.total) * 100) : 0} /> : null}
      </form>
    </section>
  );
}
