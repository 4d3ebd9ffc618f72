// Which LiveBackend the host uses, from liveAvailability(): in this process as root (LiveService, as `serve` run as
// root), through the privileged helper started with pkexec (PrivilegedClient: the authentication dialog appears at
// the first live command, not at start), or none, with the reason every live command then answers. Tests inject a
// backend (and with it its availability).
import { IntegrityStudioError } from '../../engine/errors.js';
import type { LiveAvailability } from '../../engine/api.js';
import { liveAvailability } from '../../engine/live/availability.js';
import { LiveService, type LiveBackend } from '../../engine/live/service.js';
import { PrivilegedClient } from '../../engine/live/privileged-client.js';

export interface LiveBackendOptions {
  /** a backend to use whatever this machine is (tests: testing/fake-live-backend.ts) */
  backend?: LiveBackend;
  /** how availability is found when no backend is injected (default: liveAvailability()) */
  probe?: () => LiveAvailability;
}

const AVAILABILITY_MS = 5_000;

export class LiveBackendChoice {
  private chosen: LiveBackend | null;

  constructor(private readonly o: LiveBackendOptions = {}) {
    this.chosen = o.backend ?? null;
  }

  private cached: { at: number; a: LiveAvailability } | null = null;

  /** what the backend (or this machine) says, looked at again at most every few seconds (watches renew often) */
  async availability(): Promise<LiveAvailability> {
    const now = Date.now();
    if (this.cached && now - this.cached.at < AVAILABILITY_MS) return this.cached.a;
    const a = this.o.backend ? await this.o.backend.availability() : (this.o.probe ?? liveAvailability)();
    this.cached = { at: now, a };
    return a;
  }

  /** the backend, or the error every live command answers when the live features cannot work here */
  async backend(): Promise<LiveBackend> {
    const a = await this.availability();
    if (!a.available) throw unavailable(a);
    if (this.chosen) return this.chosen;
    this.chosen = a.via === 'root' ? new LiveService({ by: 'dashboard' }) : new PrivilegedClient();
    return this.chosen;
  }

  /** the backend already in use (watches sample through it), or null */
  current(): LiveBackend | null {
    return this.chosen;
  }

  async close(): Promise<void> {
    await this.chosen?.close();
  }
}

export function unavailable(a: LiveAvailability): IntegrityStudioError {
  return new IntegrityStudioError(`Kernel devices are not available here: ${a.reason ?? 'the live features cannot run on this machine'}`, 'EUNSUPPORTED');
}
