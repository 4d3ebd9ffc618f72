// The open options as form controls (Add, Create, Edit): algorithm and key, journal MAC and encryption with their
// keys, mode, data device, discards, bitmap tuning.
import { Check, Field } from '../lib/Field.js';
import { KeyField } from '../lib/KeyField.js';
import { JOURNAL_CRYPT_CIPHERS, LABELS, journalMacAlgorithms, keyed, type OpenErrors, type OpenForm } from './open-options.js';

export function OpenOptionsFields({
  prefix,
  f,
  set,
  errors,
  algorithms,
  keysOptional,
  pickPath,
  dataDevice = true,
}: {
  prefix: string;
  f: OpenForm;
  set(patch: Partial<OpenForm>): void;
  errors: OpenErrors;
  algorithms: string[];
  keysOptional?: boolean;
  pickPath?: (kind: 'key') => Promise<string | null>;
  dataDevice?: boolean;
}) {
  const keepHint = keysOptional ? 'leave empty to keep the key the host holds' : undefined;
  const id = (k: string) => `${prefix}-${k}`;
  return (
    <>
      <fieldset className="group">
        <legend>Data integrity</legend>
        <div className="grid">
          <Field label={`${LABELS.integrity} (not stored on disk)`} id={id('integrity')}>
            <select id={id('integrity')} value={f.integrity} onChange={(e) => set({ integrity: e.target.value })}>
              {(algorithms.includes(f.integrity) ? algorithms : [f.integrity, ...algorithms]).map((a) => (
                <option key={a} value={a}>
                  {a}
                </option>
              ))}
            </select>
          </Field>
          {keyed(f.integrity) ? (
            <KeyField
              id={id('ikey')}
              label={LABELS.integrityKey}
              value={f.integrityKey}
              onChange={(k) => set({ integrityKey: k })}
              error={errors.integrityKey}
              hint={keepHint}
              pickPath={pickPath}
            />
          ) : null}
          <Field label={LABELS.mode} id={id('mode')}>
            <select id={id('mode')} value={f.mode} onChange={(e) => set({ mode: e.target.value as OpenForm['mode'] })}>
              <option value="journal">journal</option>
              <option value="bitmap">bitmap</option>
              <option value="direct">direct (no journal, no crash safety)</option>
            </select>
          </Field>
          {dataDevice ? (
            <Field label={`${LABELS.dataDevice} (optional)`} id={id('data')}>
              <input id={id('data')} value={f.dataDevice} onChange={(e) => set({ dataDevice: e.target.value })} placeholder="/dev/… or an image file" />
            </Field>
          ) : null}
        </div>
      </fieldset>
      <fieldset className="group">
        <legend>Journal protection</legend>
        <div className="grid">
          <Field label={LABELS.journalIntegrity} id={id('jmac')}>
            <select id={id('jmac')} value={f.journalIntegrity} onChange={(e) => set({ journalIntegrity: e.target.value })}>
              <option value="">none</option>
              {journalMacAlgorithms(algorithms).map((a) => (
                <option key={a} value={a}>
                  {a}
                </option>
              ))}
            </select>
          </Field>
          {f.journalIntegrity ? (
            <KeyField
              id={id('jmackey')}
              label={LABELS.journalIntegrityKey}
              value={f.journalIntegrityKey}
              onChange={(k) => set({ journalIntegrityKey: k })}
              error={errors.journalIntegrityKey}
              hint={keepHint}
              pickPath={pickPath}
            />
          ) : null}
          <Field label={LABELS.journalCrypt} id={id('jcrypt')}>
            <select id={id('jcrypt')} value={f.journalCrypt} onChange={(e) => set({ journalCrypt: e.target.value })}>
              <option value="">none</option>
              {JOURNAL_CRYPT_CIPHERS.map((a) => (
                <option key={a} value={a}>
                  {a}
                </option>
              ))}
            </select>
          </Field>
          {f.journalCrypt ? (
            <KeyField
              id={id('jcryptkey')}
              label={LABELS.journalCryptKey}
              value={f.journalCryptKey}
              onChange={(k) => set({ journalCryptKey: k })}
              error={errors.journalCryptKey}
              hint={keepHint}
              pickPath={pickPath}
            />
          ) : null}
        </div>
      </fieldset>
      <fieldset className="group">
        <legend>Open options</legend>
        <div className="grid">
          <Field label={LABELS.bitmapSectorsPerBit} id={id('bspb')} error={errors.bitmapSectorsPerBit} hint="bitmap mode; empty: the kernel default">
            <input id={id('bspb')} inputMode="numeric" value={f.bitmapSectorsPerBit} onChange={(e) => set({ bitmapSectorsPerBit: e.target.value })} />
          </Field>
          <Field label={LABELS.bitmapFlushTimeMs} id={id('bft')} error={errors.bitmapFlushTimeMs} hint="bitmap mode; empty: the kernel default">
            <input id={id('bft')} inputMode="numeric" value={f.bitmapFlushTimeMs} onChange={(e) => set({ bitmapFlushTimeMs: e.target.value })} />
          </Field>
          <Check id={id('discards')} label={LABELS.allowDiscards} checked={f.allowDiscards} onChange={(v) => set({ allowDiscards: v })} />
        </div>
      </fieldset>
    </>
  );
}
