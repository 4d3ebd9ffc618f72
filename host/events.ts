// The host's events to its subscribers (the dashboards): every listener gets every event, a broken one does not
// stop the others, and progress-like events are throttled per key (the latest wins; a final one goes at once).
import type { IntegrityEvent } from '../engine/api.js';

export class EventHub {
  private readonly listeners = new Set<(e: IntegrityEvent) => void>();
  private readonly lastSent = new Map<string, number>();
  private readonly pending = new Map<string, NodeJS.Timeout>();

  /** minimum ms between two events of one key (0: every event goes at once) */
  constructor(private readonly throttleMs: number) {}

  on(listener: (e: IntegrityEvent) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  emit(e: IntegrityEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch {
        /* a broken subscriber must not stop the others */
      }
    }
  }

  /** at most one event per key per throttleMs; the latest one wins, a final one is sent at once */
  throttled(key: string, make: () => IntegrityEvent, final = false): void {
    const now = Date.now();
    const last = this.lastSent.get(key) ?? 0;
    const t = this.pending.get(key);
    if (final || now - last >= this.throttleMs) {
      if (t) {
        clearTimeout(t);
        this.pending.delete(key);
      }
      this.lastSent.set(key, now);
      this.emit(make());
      return;
    }
    if (t) clearTimeout(t);
    this.pending.set(
      key,
      setTimeout(
        () => {
          this.pending.delete(key);
          this.lastSent.set(key, Date.now());
          this.emit(make());
        },
        this.throttleMs - (now - last),
      ),
    );
  }

  /** drops what is pending and every listener */
  close(): void {
    for (const t of this.pending.values()) clearTimeout(t);
    this.pending.clear();
    this.listeners.clear();
  }
}
