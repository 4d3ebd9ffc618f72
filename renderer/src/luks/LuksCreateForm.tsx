// Create a LUKS2 authenticated volume (dm-crypt over dm-integrity, as cryptsetup luksFormat --type luks2
// --integrity …): a new sparse image (with a size) or an existing file or device; the passphrase twice (or a key
// file on the host); progress of the KDF and of the wipe; the equivalent commands, without the passphrase.
import { useRef, useState } from 'react';
import type { CreateLuksVolumeRequest } from '../../../engine/api.js';
import { Check, Field } from '../lib/Field.js';
import { Progress } from '../lib/Progress.js';
import { formatBytes, formatEta, formatRate } from '../lib/format.js';
import { inFormWords } from '../forms/words.js';
import {
  CIPHER_KEY_BITS,
  DEFAULT_LUKS_FORM,
  INTEGRITY_CIPHERS,
  LUKS_LABELS as L,
  luksCommands,
  luksRequest,
  validateLuks,
  withCipher,
  withIntegrity,
  type LuksCreateForm,
} from './luks-form.js';
import { KdfProgress, type KdfView } from './LuksUnlockForm.js';
import { needsConfirmation, OverwriteQuestion } from '../lib/OverwriteQuestion.js';

export function LuksCreateVolumeForm({
  onSubmit,
  onCancel,
  progress,
  kdf,
  pickPath,
  onPlain,
}: {
  onSubmit(r: CreateLuksVolumeRequest): Promise<void>;
  onCancel?: () => void;
  progress?: { done: number; total: number } | null;
  kdf?: KdfView;
  pickPath?: (kind: 'open' | 'save' | 'key') => Promise<string | null>;
  onPlain(): void;
}) {
  const [f, setF] = useState<LuksCreateForm>(DEFAULT_LUKS_FORM);
  const [busy, setBusy] = useState(false);
  const [tried, setTried] = useState(false);
  const [show, setShow] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const [question, setQuestion] = useState<string | null>(null);
  const submitRef = useRef<HTMLButtonElement>(null);
  const errors = validateLuks(f);
  const shown = tried ? errors : {};
  const set = (next: LuksCreateForm) => {
    setF(next);
    setFailure(null);
    setQuestion(null);
  };
  const send = (force: boolean) => {
    setBusy(true);
    setFailure(null);
    setQuestion(null);
    void onSubmit({ ...luksRequest(f), force })
      .catch((x: Error) => {
        if (needsConfirmation(x) && !force) setQuestion(x.message);
        else setFailure(inFormWords(x.message));
      })
      .finally(() => setBusy(false));
  };
  const text = (k: 'path' | 'sizeMiB' | 'name' | 'pbkdfIterations' | 'pbkdfMemory', placeholder = '', hint?: string) => (
    <Field label={L[k]} id={`l-${k}`} error={shown[k]} hint={hint}>
      <input id={`l-${k}`} value={f[k]} placeholder={placeholder} onChange={(e) => set({ ...f, [k]: e.target.value })} aria-invalid={!!shown[k]} />
    </Field>
  );
  const cmds = luksCommands(f);
  return (
    <section aria-labelledby="view-h">
      <h2 id="view-h" tabIndex={-1}>
        Create LUKS2 authenticated volume
      </h2>
      <p>
        dm-crypt over dm-integrity: every sector is encrypted and authenticated, its tag and IV kept by dm-integrity, as{' '}
        <code>cryptsetup luksFormat --integrity</code> makes it. {/* biome-ignore lint/a11y/useValidAnchor: a real address (the route), opened in place */}
        <a
          href="#/create"
          onClick={(e) => {
            e.preventDefault();
            onPlain();
          }}
        >
          Create a plain dm-integrity volume instead
        </a>
      </p>
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          setTried(true);
          const first = Object.keys(errors)[0];
          if (first) {
            // the first control in error (after this render marks it invalid)
            const id = first === 'passphrase' ? 'l-pass' : first === 'passphrase2' ? 'l-pass2' : `l-${first}`;
            setTimeout(() => document.getElementById(id)?.focus(), 0);
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
                    if (p) set({ ...f, path: p });
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
        <fieldset className="group">
          <legend>Encryption and integrity</legend>
          <div className="grid">
            <Field label={L.integrity} id="l-integrity">
              <select id="l-integrity" value={f.integrity} onChange={(e) => set(withIntegrity(f, e.target.value))}>
                {Object.keys(INTEGRITY_CIPHERS).map((i) => (
                  <option key={i} value={i}>
                    {i}
                  </option>
                ))}
              </select>
            </Field>
            <Field label={L.cipher} id="l-cipher" error={shown.cipher}>
              <select id="l-cipher" value={f.cipher} onChange={(e) => set(withCipher(f, e.target.value))}>
                {(INTEGRITY_CIPHERS[f.integrity] ?? []).map((c) => (
                  <option key={c} value={c}>
                    {c}
                  </option>
                ))}
              </select>
            </Field>
            <Field label={L.keySize} id="l-keySize" hint={/^hmac-/.test(f.integrity) ? "the cipher's key; the HMAC key is added to the volume key" : undefined}>
              <select id="l-keySize" value={f.keySize} onChange={(e) => set({ ...f, keySize: e.target.value })}>
                {(CIPHER_KEY_BITS[f.cipher] ?? []).map((k) => (
                  <option key={k} value={k}>
                    {k} bits
                  </option>
                ))}
              </select>
            </Field>
            <Field label={L.sectorSize} id="l-sectorSize">
              <select id="l-sectorSize" value={f.sectorSize} onChange={(e) => set({ ...f, sectorSize: e.target.value })}>
                {['512', '1024', '2048', '4096'].map((s) => (
                  <option key={s} value={s}>
                    {s} bytes
                  </option>
                ))}
              </select>
            </Field>
          </div>
        </fieldset>
        <fieldset className="group">
          <legend>Passphrase</legend>
          <div className="row">
            <span className="row" role="radiogroup" aria-label="Passphrase: given as">
              <label>
                <input type="radio" name="l-src" checked={f.secretSource === 'passphrase'} onChange={() => set({ ...f, secretSource: 'passphrase' })} /> typed
                here
              </label>
              <label>
                <input type="radio" name="l-src" checked={f.secretSource === 'file'} onChange={() => set({ ...f, secretSource: 'file' })} /> key file on the
                host
              </label>
            </span>
            {f.secretSource === 'passphrase' ? (
              <button
                type="button"
                className="secondary"
                aria-pressed={show}
                aria-label={`${show ? 'Hide' : 'Show'} passphrases`}
                onClick={() => setShow(!show)}
              >
                {show ? 'Hide' : 'Show'}
              </button>
            ) : null}
          </div>
          {f.secretSource === 'passphrase' ? (
            <div className="grid">
              <Field label={L.passphrase} id="l-pass" error={shown.passphrase}>
                <input
                  id="l-pass"
                  type={show ? 'text' : 'password'}
                  autoComplete="new-password"
                  spellCheck={false}
                  value={f.passphrase}
                  aria-invalid={!!shown.passphrase}
                  onChange={(e) => set({ ...f, passphrase: e.target.value })}
                />
              </Field>
              <Field label={L.passphrase2} id="l-pass2" error={shown.passphrase2}>
                <input
                  id="l-pass2"
                  type={show ? 'text' : 'password'}
                  autoComplete="new-password"
                  spellCheck={false}
                  value={f.passphrase2}
                  aria-invalid={!!shown.passphrase2}
                  onChange={(e) => set({ ...f, passphrase2: e.target.value })}
                />
              </Field>
            </div>
          ) : (
            <div className="grid">
              <Field label={L.keyFile} id="l-keyFile" error={shown.keyFile} hint="its bytes are the passphrase (as cryptsetup --key-file)">
                <input
                  id="l-keyFile"
                  value={f.keyFile}
                  aria-invalid={!!shown.keyFile}
                  onChange={(e) => set({ ...f, keyFile: e.target.value })}
                  placeholder="/path/to/keyfile on the host"
                />
              </Field>
              {pickPath ? (
                <button
                  type="button"
                  className="secondary"
                  onClick={() => {
                    void pickPath('key').then((p) => {
                      if (p) set({ ...f, keyFile: p });
                    });
                  }}
                >
                  Choose key file…
                </button>
              ) : null}
            </div>
          )}
        </fieldset>
        <fieldset className="group">
          <legend>Key derivation</legend>
          <div className="grid">
            <Field label={L.pbkdf} id="l-pbkdf">
              <select id="l-pbkdf" value={f.pbkdf} onChange={(e) => set({ ...f, pbkdf: e.target.value as LuksCreateForm['pbkdf'] })}>
                {['argon2id', 'argon2i', 'pbkdf2'].map((p) => (
                  <option key={p} value={p}>
                    {p}
                  </option>
                ))}
              </select>
            </Field>
            {text('pbkdfIterations', 'measured: 2 s', f.pbkdf === 'pbkdf2' ? 'pbkdf2 iterations (at least 1000)' : 'Argon2 passes (at least 4)')}
            {f.pbkdf !== 'pbkdf2' ? text('pbkdfMemory', '1 GiB, at most half the RAM') : null}
          </div>
        </fieldset>
        <fieldset className="group">
          <legend>Initialisation</legend>
          <div className="checks">
            <Check id="l-noWipe" label={L.noWipe} checked={f.noWipe} onChange={(x) => set({ ...f, noWipe: x })} />
          </div>
        </fieldset>
        <p>Equivalent commands (quoted for a POSIX shell; they ask for the passphrase, which is never shown here):</p>
        <figure className="cmd-box" aria-label="Equivalent cryptsetup command">
          <pre className="cmd">{cmds.cryptsetup}</pre>
        </figure>
        <figure className="cmd-box" aria-label="Equivalent integrity-studio command">
          <pre className="cmd">{cmds.ours}</pre>
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
        {busy ? <KdfProgress p={kdf} label="Key derivation progress" /> : null}
        {busy && progress ? <WipeProgress p={progress} /> : null}
      </form>
    </section>
  );
}

/** the wipe (every sector written through the AEAD so it authenticates), with its rate and ETA */
function WipeProgress({ p }: { p: { done: number; total: number } }) {
  const first = useRef<{ t: number; done: number } | null>(null);
  if (!first.current) first.current = { t: Date.now(), done: p.done };
  const dt = (Date.now() - first.current.t) / 1000;
  const rate = dt > 0.2 ? (p.done - first.current.done) / dt : 0;
  return (
    <div role="status">
      <Progress label="Wipe progress" value={p.total ? Math.floor((p.done / p.total) * 100) : 0} />
      <span className="muted small">
        wiping: {formatBytes(p.done)} of {formatBytes(p.total)}
        {rate > 0 ? ` · ${formatRate(rate)} · ${formatEta(((p.total - p.done) / rate) * 1000)} left` : ''}
      </span>
    </div>
  );
}
