// Resize (integritysetup resize): the current size and the largest possible, a new size or the whole image file /
// device, what to do with a grown area (wipe, or mark for recalculation), a shrink confirmed naming what is lost,
// the equivalent commands, and the wipe's progress with its rate and ETA. Refused, with who holds it, while a job
// runs or another process writes the volume.
import { useEffect, useRef, useState } from 'react';
import type { ResizeLimits, VolumeSnapshot } from '../../../engine/api.js';
import { ConfirmButton } from '../lib/ConfirmButton.js';
import { Field } from '../lib/Field.js';
import { formatBytes, formatCount, formatEta, formatRate, percent } from '../lib/format.js';
import { Progress } from '../lib/Progress.js';
import { inFormWords } from '../forms/words.js';
import type { Dashboard } from '../store.js';
import { initialForm, RESIZE_LABELS as L, resizeCommands, toRequest, UNITS, wantedBytes, type ResizeForm, type Unit } from './resize-form.js';

type Outcome = { from: number; to: number; how: 'wiped' | 'recalculate' | 'shrunk' | 'none'; ms: number; rate: number };

export function ResizePage({ v, d, onDone }: { v: VolumeSnapshot; d: Pick<Dashboard, 'call'>; onDone(): void }) {
  const [lim, setLim] = useState<ResizeLimits | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [f, setF] = useState<ResizeForm | null>(null);
  const [tried, setTried] = useState(false);
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const doneLink = useRef<HTMLButtonElement>(null);
  const reload = () =>
    d.call('resizeLimits', v.id).then(
      (l) => {
        setLim(l);
        setF((old) => old ?? initialForm(l));
        setLoadError(null);
      },
      (e: Error) => setLoadError(e.message),
    );
  // biome-ignore lint/correctness/useExhaustiveDependencies: the limits are read again when the volume's size or state changes
  useEffect(() => {
    void reload();
  }, [v.id, v.state, v.size_bytes]);
  useEffect(() => {
    if (outcome) doneLink.current?.focus();
  }, [outcome]);

  // the crumbs and the heading sit in the same place loaded or not, so the focus the App gives the heading stays
  const top = (
    <>
      <p className="crumbs">
        <a
          href={`#/volume/${encodeURIComponent(v.id)}`}
          onClick={(e) => {
            e.preventDefault();
            onDone();
          }}
        >
          ← {v.name}
        </a>
      </p>
      <h2 id="view-h" tabIndex={-1}>
        Resize {v.name}
      </h2>
    </>
  );
  if (!lim || !f)
    return (
      <section aria-labelledby="view-h">
        {top}
        {loadError ? (
          <p className="error" role="alert">
            {loadError}
          </p>
        ) : (
          <p>Reading the volume…</p>
        )}
      </section>
    );

  const want = wantedBytes(f, lim);
  const bytes = want.bytes;
  const grow = bytes !== undefined && bytes > lim.current_bytes;
  const shrink = bytes !== undefined && bytes < lim.current_bytes;
  const same = bytes !== undefined && bytes === lim.current_bytes;
  const cmds = resizeCommands(v, f, bytes, lim);
  const wipe = v.jobs.wipe;
  const set = (p: Partial<ResizeForm>) => {
    setF({ ...f, ...p });
    setFailure(null);
  };
  const blocked = lim.refused;

  const submit = async () => {
    setTried(true);
    if (want.error || same || blocked || busy) return;
    setBusy(true);
    setFailure(null);
    const t0 = Date.now();
    try {
      const after = await d.call('resizeVolume', v.id, toRequest(f, bytes!, lim));
      const ms = Date.now() - t0;
      const w = after.jobs.wipe;
      setOutcome({
        from: lim.current_bytes,
        to: after.size_bytes,
        how: grow ? (f.newArea === 'wipe' ? 'wiped' : 'recalculate') : shrink ? 'shrunk' : 'none',
        ms,
        rate: w?.state === 'done' ? w.bytes_per_second : 0,
      });
      const l = await d.call('resizeLimits', v.id);
      setLim(l);
      setF(initialForm(l));
      setTried(false);
    } catch (e) {
      setFailure(inFormWords((e as Error).message));
    } finally {
      setBusy(false);
    }
  };

  const sizeError = tried || f.amount !== initialForm(lim).amount ? want.error : undefined;
  const lost = shrink ? lim.current_bytes - bytes! : 0;
  return (
    <section aria-labelledby="view-h">
      {top}
      <dl className="facts" aria-label="Sizes">
        <dt>Current size</dt>
        <dd data-testid="resize-current">
          {formatBytes(lim.current_bytes)} ({formatCount(lim.current_bytes / 512)} sectors)
        </dd>
        <dt>Whole {lim.device_kind === 'block' ? 'device' : 'file'} as it is</dt>
        <dd data-testid="resize-whole">
          {formatBytes(lim.whole_device_bytes)} <span className="muted">({lim.device})</span>
        </dd>
        <dt>Largest possible</dt>
        <dd data-testid="resize-max">
          {formatBytes(lim.max_bytes)}{' '}
          <span className="muted">
            {blocked && lim.free_bytes === null
              ? '(not known while the volume is busy)'
              : lim.device_kind === 'block'
                ? '(the device’s size: grow the device itself to go further)'
                : `(the file grown into the ${formatBytes(lim.free_bytes ?? 0)} free on its file system)`}
          </span>
        </dd>
      </dl>
      {blocked ? (
        <p className="warn" role="status" id="resize-refused-note" data-testid="resize-refused">
          Resize is not possible now: {blocked}.
        </p>
      ) : null}
      {outcome ? (
        <div className="panel" role="status" data-testid="resize-outcome">
          <p>
            {outcome.how === 'none'
              ? `Already ${formatBytes(outcome.to)}: nothing to do.`
              : `${outcome.how === 'shrunk' ? 'Shrunk' : 'Grown'} from ${formatBytes(outcome.from)} to ${formatBytes(outcome.to)} in ${formatEta(outcome.ms)}.`}
            {outcome.how === 'wiped'
              ? ` The new ${formatBytes(outcome.to - outcome.from)} were zeroed with valid tags${outcome.rate ? ` at ${formatRate(outcome.rate)}` : ''}.`
              : ''}
            {outcome.how === 'recalculate'
              ? ` The new ${formatBytes(outcome.to - outcome.from)} are being recalculated: not verified until that finishes.`
              : ''}
            {outcome.how === 'shrunk' ? ` The last ${formatBytes(outcome.from - outcome.to)} are gone.` : ''} The volume has not been checked at this size: run
            a scrub to know it is clean.
          </p>
          <button ref={doneLink} type="button" onClick={onDone}>
            Back to {v.name}
          </button>
        </div>
      ) : null}
      <form
        noValidate
        aria-describedby={blocked ? 'resize-refused-note' : undefined}
        onSubmit={(e) => {
          e.preventDefault();
          if (!shrink) void submit();
        }}
      >
        <fieldset className="group" disabled={busy || !!blocked}>
          <legend>Size</legend>
          <div className="field check">
            <input type="radio" id="resize-whole" name="resize-how" checked={f.whole} onChange={() => set({ whole: true })} />
            <label htmlFor="resize-whole">
              {L.whole} ({formatBytes(lim.whole_device_bytes)})
            </label>
          </div>
          <div className="field check">
            <input
              type="radio"
              id="resize-size"
              name="resize-how"
              checked={!f.whole}
              disabled={lim.device_kind === 'block'}
              onChange={() => set({ whole: false })}
              aria-describedby={lim.device_kind === 'block' ? 'resize-size-hint' : undefined}
            />
            <label htmlFor="resize-size">A new size</label>
            {lim.device_kind === 'block' ? (
              <span className="muted small" id="resize-size-hint">
                a block device’s size is fixed here: resize the device itself (lvresize, …), then take the whole device
              </span>
            ) : null}
          </div>
          {!f.whole ? (
            <div className="row">
              <Field
                label={L.amount}
                id="resize-amount"
                error={sizeError}
                hint={`a whole number of ${lim.block_size}-byte blocks, at most ${formatBytes(lim.max_bytes)}`}
              >
                <input
                  id="resize-amount"
                  inputMode="decimal"
                  value={f.amount}
                  aria-invalid={!!sizeError}
                  aria-describedby={`resize-amount-hint${sizeError ? ' resize-amount-err' : ''}`}
                  onChange={(e) => set({ amount: e.target.value })}
                />
              </Field>
              <Field label={L.unit} id="resize-unit">
                <select id="resize-unit" value={f.unit} onChange={(e) => set({ unit: e.target.value as Unit })}>
                  {(Object.keys(UNITS) as Unit[]).map((u) => (
                    <option key={u} value={u}>
                      {u}
                    </option>
                  ))}
                </select>
              </Field>
            </div>
          ) : null}
        </fieldset>
        <fieldset className="group" disabled={busy || !!blocked || !grow}>
          <legend>The new area {grow ? `(${formatBytes(bytes! - lim.current_bytes)})` : '(only when growing)'}</legend>
          <div className="field check">
            <input type="radio" id="resize-wipe" name="resize-area" checked={f.newArea === 'wipe'} onChange={() => set({ newArea: 'wipe' })} />
            <label htmlFor="resize-wipe">{L.wipe}</label>
          </div>
          <div className="field check">
            <input
              type="radio"
              id="resize-recalc"
              name="resize-area"
              checked={f.newArea === 'recalculate'}
              disabled={!lim.recalc_allowed}
              onChange={() => set({ newArea: 'recalculate' })}
              aria-describedby={!lim.recalc_allowed && !blocked ? 'resize-recalc-hint' : undefined}
            />
            <label htmlFor="resize-recalc">{L.recalculate}</label>
            {!lim.recalc_allowed && !blocked ? (
              <span className="muted small" id="resize-recalc-hint">
                not for this volume: the kernel refuses to recalculate a keyed hash without a journal MAC
              </span>
            ) : null}
          </div>
        </fieldset>
        <section className="panel" aria-labelledby="resize-cmd-h">
          <h3 id="resize-cmd-h">Equivalent commands</h3>
          <figure className="cmd-box" aria-label="Equivalent integrity-studio command">
            <pre className="cmd">{cmds.studio}</pre>
          </figure>
          <p className="muted small">
            With the volume open in the kernel (see “Open with the kernel” on its page); an image file grows first (<code>truncate -s</code>, then{' '}
            <code>losetup -c</code>):
          </p>
          <figure className="cmd-box" aria-label="Equivalent integritysetup command">
            <pre className="cmd">{cmds.kernel}</pre>
          </figure>
          {shrink ? (
            <p className="muted small">
              A difference: the kernel only shortens the mapping (its superblock keeps the larger size, and a smaller device is refused); offline the image is
              cut and the superblock records the smaller size.
            </p>
          ) : null}
        </section>
        {busy && grow && f.newArea === 'wipe' ? (
          // biome-ignore lint/a11y/useSemanticElements: a progress bar and its figures, not form controls (no fieldset)
          <div role="group" aria-label="Wipe progress" data-testid="resize-progress">
            <Progress
              label="Wiping the new area"
              value={wipe ? percent({ position_sector: wipe.position_sector - wipe.start_sector, total_sectors: wipe.total_sectors - wipe.start_sector }) : 0}
            />
            <p className="muted">
              {wipe
                ? `${formatCount(wipe.position_sector - wipe.start_sector)} of ${formatCount(wipe.total_sectors - wipe.start_sector)} sectors · ${formatRate(wipe.bytes_per_second)} · ETA ${formatEta(wipe.eta_ms)}`
                : 'starting…'}
            </p>
          </div>
        ) : busy ? (
          <p role="status">Resizing…</p>
        ) : null}
        {failure ? (
          <p className="error" role="alert">
            Not resized: {failure.replace(/^Not resized:\s*/, '')}
          </p>
        ) : null}
        <div className="row">
          {shrink && !want.error && !blocked ? (
            <ConfirmButton
              label="Shrink…"
              confirmLabel={`Shrink to ${formatBytes(bytes!)}`}
              question={
                <>
                  Shrink {v.name} from {formatBytes(lim.current_bytes)} to {formatBytes(bytes!)}? The last {formatBytes(lost)} (sectors{' '}
                  {formatCount(bytes! / 512)}–{formatCount(lim.current_bytes / 512 - 1)}) are lost:{' '}
                  {lim.device_kind === 'file' ? 'the image file is cut there' : 'they are no longer part of the volume'}. This cannot be undone.
                </>
              }
              onConfirm={submit}
              disabled={busy}
            />
          ) : (
            <button type="submit" aria-disabled={busy || !!blocked || same || undefined}>
              {busy ? 'Resizing…' : same ? 'Already this size' : grow ? 'Grow' : 'Resize'}
            </button>
          )}
          {busy ? null : (
            <button type="button" className="secondary" onClick={onDone}>
              Cancel
            </button>
          )}
        </div>
      </form>
    </section>
  );
}
