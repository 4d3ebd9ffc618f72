// The app's side of the privileged helper: starts it (helperCommand: pkexec, or node when already root), sends
// LiveBackend calls as protocol requests over its stdin and resolves them from its answers. No socket: only the
// process that started the helper can talk to it.
import { spawn, type ChildProcess } from 'node:child_process';
import { errnoCode, IntegrityStudioError } from '../errors.js';
import type { LiveVolume } from './types.js';
import type { LiveAvailability } from './availability.js';
import { liveAvailability } from './availability.js';
import type { LiveSample } from './sample.js';
import type { LiveSuperblock } from './superblock.js';
import type { IntegrityMessage } from './kmsg.js';
import type { ControlPlan, ControlResult } from './controls.js';
import type { LiveDamageMap } from './map-damage.js';
import type { LiveScrubProgress } from './scrub.js';
import type { LiveBackend, PlanRequest, ScrubStartOptions } from './service.js';
import { activateSpecToWire, helperCommand, type HelperCommand, type HelperMessage } from './privileged.js';

/** pkexec's own exit statuses (pkexec(1)): the user dismissed the dialog, or polkit said no. */
function exitReason(code: number | null, signal: string | null, stderr: string): string {
  if (code === 126)
    return 'the administrator password was not given (the authentication dialog was dismissed or refused): live volumes need it to read and control device-mapper';
  if (code === 127)
    return `pkexec could not authorise the helper${stderr ? ` (${stderr.trim().split('\n').slice(-1)[0]})` : ''}: is a polkit authentication agent running, and is the policy installed?`;
  return `the privileged helper exited (${signal ? `signal ${signal}` : `status ${code}`})${stderr ? `: ${stderr.trim().split('\n').slice(-1)[0]}` : ''}`;
}

export interface PrivilegedClientOptions {
  argv?: string[];
  env?: Record<string, string>;
  /** called once if the helper exits while in use */
  onExit?: (reason: string) => void;
}

export class PrivilegedClient implements LiveBackend {
  private child: ChildProcess | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly listeners = new Set<(p: LiveScrubProgress) => void>();
  private buffer = '';
  private stderr = '';
  private ready: Promise<void> | null = null;
  private exited: string | null = null;
  private closing = false;

  constructor(private readonly opts: PrivilegedClientOptions = {}) {}

  /** Starts the helper (the authentication dialog appears here under pkexec) and waits for its ready event. */
  start(): Promise<void> {
    if (this.ready) return this.ready;
    const cmd = this.opts.argv ? { argv: this.opts.argv, env: this.opts.env ?? {} } : helperCommand();
    this.ready = new Promise((resolve, reject) => {
      const child = spawn(cmd.argv[0]!, cmd.argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...cmd.env } });
      this.child = child;
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (chunk: string) => {
        this.buffer += chunk;
        for (let nl = this.buffer.indexOf('\n'); nl >= 0; nl = this.buffer.indexOf('\n')) {
          const line = this.buffer.slice(0, nl);
          this.buffer = this.buffer.slice(nl + 1);
          let m: HelperMessage;
          try {
            m = JSON.parse(line) as HelperMessage;
          } catch {
            continue;
          }
          if ('event' in m) {
            if (m.event === 'ready') resolve();
            else if (m.event === 'scrub-progress') for (const l of this.listeners) l(m.data as LiveScrubProgress);
          } else if (m.id !== null && this.pending.has(m.id)) {
            const p = this.pending.get(m.id)!;
            this.pending.delete(m.id);
            if (m.ok) p.resolve(m.result);
            else p.reject(new IntegrityStudioError(m.error.message, errnoCode(m.error, 'EUNKNOWN')));
          }
        }
      });
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (s: string) => {
        this.stderr = (this.stderr + s).slice(-4096);
      });
      child.stdin!.on('error', () => {
        /* the exit handler reports it */
      });
      child.on('error', (e) => {
        this.exited = `the privileged helper could not be started: ${e.message}`;
        reject(new IntegrityStudioError(this.exited, 'ENOHELPER'));
      });
      child.on('exit', (code, signal) => {
        this.exited = exitReason(code, signal, this.stderr);
        const err = new IntegrityStudioError(this.exited, code === 126 ? 'EAUTH' : 'ENOHELPER');
        reject(err);
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
        this.child = null;
        if (!this.closing) this.opts.onExit?.(this.exited);
      });
    });
    return this.ready;
  }

  private async call<T>(cmd: HelperCommand, args: Record<string, unknown> = {}): Promise<T> {
    await this.start();
    if (!this.child || this.exited) throw new IntegrityStudioError(this.exited ?? 'the privileged helper is not running', 'ENOHELPER');
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child!.stdin!.write(JSON.stringify({ id, cmd, args }) + '\n');
    });
  }

  async availability(): Promise<LiveAvailability> {
    return liveAvailability();
  }
  list() {
    return this.call<LiveVolume[]>('list');
  }
  status(name: string) {
    return this.call<LiveSample>('status', { name });
  }
  readSuperblock(name: string) {
    return this.call<LiveSuperblock>('read-superblock', { name });
  }
  kernelLog(name: string, sinceSeq?: number) {
    return this.call<IntegrityMessage[]>('kernel-log', { name, ...(sinceSeq !== undefined ? { sinceSeq } : {}) });
  }
  plan(req: PlanRequest) {
    return this.call<ControlPlan>('plan', req.action === 'activate' ? { action: 'activate', spec: activateSpecToWire(req.spec) } : req);
  }
  control(req: PlanRequest, confirm: boolean) {
    if (req.action === 'activate') return this.call<ControlResult>('activate', { spec: activateSpecToWire(req.spec), confirm });
    return this.call<ControlResult>(req.action, { name: req.name, confirm });
  }
  scrubStart(name: string, opts: ScrubStartOptions = {}) {
    return this.call<LiveScrubProgress>('scrub-start', { name, ...opts });
  }
  scrubPause(name: string) {
    return this.call<LiveScrubProgress>('scrub-pause', { name });
  }
  scrubProgress(name: string) {
    return this.call<LiveScrubProgress | null>('scrub-progress', { name });
  }
  mapDamage(name: string) {
    return this.call<LiveDamageMap>('map-damage', { name });
  }
  onScrubProgress(listener: (p: LiveScrubProgress) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  /** Closes the helper's stdin: it pauses its scrubs (positions saved) and exits. */
  async close(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.closing = true;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.stdin!.end();
    });
  }
}
