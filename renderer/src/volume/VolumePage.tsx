// One volume: header (name, state badges, Edit / Unlock / Remove from list), then its panels.
import type { VolumeSnapshot } from '../../../engine/api.js';
import { ConfirmButton } from '../lib/ConfirmButton.js';
import { formatBytes, formatTime } from '../lib/format.js';
import type { Route } from '../lib/routes.js';
import { routeLink } from '../lib/route-link.js';
import type { Dashboard } from '../store.js';
import { StateBadges } from '../volume-list/StateBadges.js';
import { CommandsPanel } from './CommandsPanel.js';
import { ErrorsPanel } from './ErrorsPanel.js';
import type { Exporter } from './DamageList.js';
import { JobPanel } from './JobPanel.js';
import { JournalPanel } from './JournalPanel.js';
import { StatusPanel } from './StatusPanel.js';
import { SuperblockPanel } from './SuperblockPanel.js';
import { LuksErrorsPanel } from '../luks/LuksErrorsPanel.js';
import { LuksPanel } from '../luks/LuksPanel.js';

export function needsUnlock(v: VolumeSnapshot): boolean {
  if (v.luks) return v.luks.locked;
  const k = v.keys_required,
    h = v.keys;
  return (k.integrity && !h.integrity) || (k.journalIntegrity && !h.journalIntegrity) || (k.journalCrypt && !h.journalCrypt);
}

export function VolumePage({
  v,
  d,
  onNavigate,
  exporter,
}: {
  v: VolumeSnapshot;
  d: Pick<Dashboard, 'act' | 'call' | 'setMessage' | 'pending' | 'rates'> & Partial<Pick<Dashboard, 'replayProgress'>>;
  onNavigate(r: Route): void;
  exporter?: Exporter;
}) {
  const to = routeLink(onNavigate);
  const link = (r: Route, text: string, cls = 'button-link') => to(r, text, cls);
  const held = [v.keys.integrity && 'integrity key', v.keys.journalIntegrity && 'journal MAC key', v.keys.journalCrypt && 'journal encryption key'].filter(
    Boolean,
  );
  return (
    <section aria-labelledby="view-h">
      <p className="crumbs">{link({ page: 'list' }, '← Volumes', '')}</p>
      <div className="row heading-row">
        <h2 id="view-h" tabIndex={-1}>
          {v.name}
        </h2>
        <StateBadges state={v.state} conditions={v.conditions} />
        <span className="spacer" />
        {needsUnlock(v) ? link({ page: 'unlock', id: v.id }, 'Unlock…', 'button-link primary') : null}
        {link({ page: 'edit', id: v.id }, 'Edit…')}
        {v.luks ? null : link({ page: 'resize', id: v.id }, 'Resize…')}
        <ConfirmButton
          label="Remove from list"
          confirmLabel="Remove from list"
          className="secondary"
          question={
            <>
              Remove {v.name} from the list? The image stays on disk ({v.path}), untouched; you can add it again later.
            </>
          }
          onConfirm={async () => {
            try {
              await d.call('removeVolume', v.id);
              onNavigate({ page: 'list' });
            } catch (e) {
              d.setMessage((e as Error).message);
            }
          }}
        />
      </div>
      <p className="muted">
        {v.path}
        {v.data_device ? ` (data on ${v.data_device})` : ''} · {formatBytes(v.size_bytes)} · {v.algorithm} ·{' '}
        {v.luks ? 'LUKS2 (dm-crypt over dm-integrity)' : `${v.mode} mode`}
        {held.length ? ` · held by the host: ${held.join(', ')}` : ''}
      </p>
      {v.kernel ? (
        <p className="warn" role="status" data-testid="kernel-note">
          Active in the kernel as /dev/mapper/{v.kernel.name} (the kernel's devices as listed {formatTime(v.kernel.listed_at)}): the app's engine does not open
          it while the kernel holds it, so the figures below are from before.{' '}
          {link({ page: 'live-device', name: v.kernel.name }, 'Watch, recalculate and scrub it under Kernel devices', '')}, or deactivate it there to check it
          here.
        </p>
      ) : null}
      {v.luks ? (
        <>
          {v.luks.locked ? (
            <p className="warn" role="status" data-testid="locked-note">
              Locked: the host does not hold this LUKS2 volume's key (it forgets keys when it restarts).{' '}
              {link({ page: 'unlock', id: v.id }, 'Unlock it with its passphrase', '')} to scrub it; the header below is read without a key.
            </p>
          ) : null}
          <StatusPanel v={v} />
          <LuksErrorsPanel v={v} d={d} exporter={exporter} />
          <div className="cols">
            <LuksPanel v={v} />
            <SuperblockPanel v={v} />
          </div>
          <JournalPanel v={v} d={d} />
          <JobPanel v={v} kind="scrub" d={d} />
          <CommandsPanel v={v} />
        </>
      ) : (
        <>
          {needsUnlock(v) ? (
            <p className="warn" role="status">
              The host does not hold the key{v.keys_required.journalIntegrity || v.keys_required.journalCrypt ? 's' : ''} this volume needs (keys are forgotten
              when the host restarts): {link({ page: 'unlock', id: v.id }, 'enter them to unlock it', '')}.
            </p>
          ) : null}
          <StatusPanel v={v} />
          <ErrorsPanel v={v} d={d} exporter={exporter} />
          <div className="cols">
            <SuperblockPanel v={v} />
            <JournalPanel v={v} d={d} />
          </div>
          <JobPanel v={v} kind="recalc" d={d} />
          <JobPanel v={v} kind="scrub" d={d} />
          <CommandsPanel v={v} />
        </>
      )}
    </section>
  );
}
