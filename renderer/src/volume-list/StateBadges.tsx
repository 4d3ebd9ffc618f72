// A volume's state as badges: the most important first, then every other condition that applies.
import type { VolumeState } from '../../../engine/api.js';
import { STATE_HINT, STATE_LABEL } from '../lib/states.js';

export function StateBadge({ state }: { state: VolumeState }) {
  return (
    <span className={`badge badge-${state}`} title={STATE_HINT[state]}>
      {STATE_LABEL[state]}
    </span>
  );
}

export function StateBadges({ state, conditions }: { state: VolumeState; conditions: readonly VolumeState[] }) {
  const all = [state, ...conditions.filter((c) => c !== state)];
  return (
    <span className="badges" data-testid="state-badges">
      {all.map((c) => (
        <StateBadge key={c} state={c} />
      ))}
    </span>
  );
}
