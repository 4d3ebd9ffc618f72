// What a page watching a live volume shows, from successive samples (about one a second): the kernel's recalculation
// with its rate and ETA, and a mismatch count that does not go back to 0 when the table is reloaded. The kernel's
// counter (number_of_mismatches) lives in the table's dm_integrity_c and starts at 0 on every load; a load is seen
// as a change of the keyless table line, of the device (uuid, major:minor), a counter or a recalculation position
// that went backwards, or the device coming back. A reload of an identical table between two samples, after which
// the counter climbs back to at least its old value before the next sample, cannot be told apart (nothing the kernel
// exports changes): those failures are then missed. Pure: no I/O, time comes from the samples.
import { SECTOR_SIZE } from '../layout/superblock.js';
import type { LiveSample } from './sample.js';
import type { LiveSnapshot, RecalcState } from './wire.js';

export type { LiveSnapshot, RecalcState } from './wire.js';

/** Positions over a sliding window; the rate is the slope from the oldest to the newest. */
export class PositionRate {
  private samples: Array<[number, number]> = [];
  constructor(private readonly windowMs = 10_000) {}
  reset(): void {
    this.samples = [];
  }
  add(t: number, position: number): void {
    const last = this.samples[this.samples.length - 1];
    if (last && (position < last[1] || t <= last[0])) {
      if (position < last[1]) this.samples = [];
      else return;
    }
    this.samples.push([t, position]);
    while (this.samples.length > 2 && t - this.samples[0]![0] > this.windowMs) this.samples.shift();
  }
  /** sectors per second, null until two samples span some time */
  sectorsPerSecond(): number | null {
    if (this.samples.length < 2) return null;
    const [t0, p0] = this.samples[0]!;
    const [t1, p1] = this.samples[this.samples.length - 1]!;
    return t1 > t0 ? ((p1 - p0) * 1000) / (t1 - t0) : null;
  }
}

export class LiveSampler {
  private prev: LiveSample | null = null;
  private wasPresent = false;
  private total = 0;
  private atFirst = 0;
  private first = true;
  private lastGrew: number | null = null;
  private loads = 0;
  private since: number | null = null;
  private restartedAt: number | null = null;
  private pendingReload = false;
  private readonly rate: PositionRate;

  constructor(
    readonly name: string,
    opts: { windowMs?: number } = {},
  ) {
    this.rate = new PositionRate(opts.windowMs);
  }

  /** Our own control just reloaded the table: the next sample starts a new counter whatever it shows. */
  markReload(): void {
    this.pendingReload = true;
  }

  add(s: LiveSample): LiveSnapshot {
    this.since ??= s.t;
    const prev = this.prev;
    let event: LiveSnapshot['event'] = null;
    if (!s.present) {
      if (this.wasPresent) event = 'disappeared';
      this.wasPresent = false;
      this.rate.reset();
      this.prev = s;
      return this.snapshot(s, event);
    }
    const kernel = s.status?.mismatches ?? null;
    const position = s.status?.recalc_sector ?? null;
    const prevKernel = prev?.present ? (prev.status?.mismatches ?? null) : null;
    const prevPosition = prev?.present ? (prev.status?.recalc_sector ?? null) : null;
    let reloaded = false;
    if (!this.wasPresent) {
      if (prev) event = 'appeared';
      reloaded = !this.first;
    } else if (prev) {
      reloaded =
        this.pendingReload ||
        s.table_line !== prev.table_line ||
        s.uuid !== prev.uuid ||
        s.devno !== prev.devno ||
        (kernel !== null && prevKernel !== null && kernel < prevKernel) ||
        (position !== null && prevPosition !== null && position < prevPosition);
      if (reloaded) event = 'reloaded';
    }
    this.pendingReload = false;
    if (reloaded) this.loads++;
    if (position !== null && prevPosition !== null && position < prevPosition) this.restartedAt = s.t;
    if (kernel !== null) {
      if (this.first) {
        this.atFirst = kernel;
        this.total = kernel;
      } else {
        const grew = reloaded || prevKernel === null ? kernel : Math.max(0, kernel - prevKernel);
        if (grew > 0) {
          this.total += grew;
          this.lastGrew = s.t;
        }
      }
    }
    if (reloaded || position === null) this.rate.reset();
    if (position !== null) this.rate.add(s.t, position);
    this.first = false;
    this.wasPresent = true;
    this.prev = s;
    return this.snapshot(s, event);
  }

  private snapshot(s: LiveSample, event: LiveSnapshot['event']): LiveSnapshot {
    const mismatches = {
      kernel: s.present ? (s.status?.mismatches ?? null) : null,
      total: this.total,
      at_first_sample: this.atFirst,
      last_grew_at: this.lastGrew,
      table_loads_seen: this.loads,
      since: this.since ?? s.t,
    };
    if (!s.present) {
      return {
        name: this.name,
        t: s.t,
        state: 'gone',
        event,
        table_line: null,
        mismatches,
        provided_data_sectors: null,
        recalc: {
          state: 'unknown',
          position: null,
          total: null,
          percent: null,
          bytes_per_second: null,
          eta_ms: null,
          persisted_sector: null,
          restarted_at: this.restartedAt,
        },
      };
    }
    const total = s.status?.provided_data_sectors ?? null;
    const position = s.status?.recalc_sector ?? null;
    const sb = s.superblock ?? null;
    let state: RecalcState;
    if (!s.status) state = 'unknown';
    else if (position === null) state = 'never';
    else if (total !== null && position >= total) state = 'done';
    else state = s.suspended ? 'suspended' : 'running';
    const sps = state === 'running' ? this.rate.sectorsPerSecond() : null;
    const bps = sps === null ? null : sps * SECTOR_SIZE;
    return {
      name: this.name,
      t: s.t,
      state: s.suspended ? 'suspended' : 'active',
      event,
      table_line: s.table_line ?? null,
      mismatches,
      provided_data_sectors: total,
      recalc: {
        state,
        position,
        total,
        percent: position !== null && total ? Math.min(100, (position / total) * 100) : null,
        bytes_per_second: bps === null ? null : Math.round(bps),
        eta_ms: state === 'done' ? 0 : sps && sps > 0 && total !== null && position !== null ? Math.round(((total - position) / sps) * 1000) : null,
        persisted_sector: sb?.recalculating ? sb.recalc_sector : null,
        restarted_at: this.restartedAt,
      },
    };
  }
}
