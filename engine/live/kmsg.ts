// What the kernel logged about integrity failures, from /dev/kmsg (Documentation/ABI/testing/dev-kmsg): one record
// per read(), `<prio>,<seq>,<usec>,<flags>;<text>`. dm-integrity logs `device-mapper: integrity: dm-N: Checksum
// failed at sector 0x<hex>` (rate-limited: DMERR_LIMIT), dm-crypt `device-mapper: crypt: dm-N: INTEGRITY AEAD ERROR,
// sector <dec>` — for a LUKS2 volume the failures are dm-crypt's and the integrity counter stays 0. Seen in the
// 6.1, 6.12 and 7.2 guests (the crypt line carries a stray "trusted_key: " prefix there; matched anywhere).
// Reading /dev/kmsg needs CAP_SYSLOG or kernel.dmesg_restrict=0.
import fs from 'node:fs';
import type { IntegrityMessage } from './wire.js';

export type { IntegrityMessage } from './wire.js';

export interface KmsgRecord {
  priority: number;
  seq: number;
  /** microseconds since boot (CLOCK_MONOTONIC) */
  usec: number;
  text: string;
}

export function parseKmsgRecord(raw: string): KmsgRecord | null {
  const semi = raw.indexOf(';');
  if (semi < 0) return null;
  const [prio, seq, usec] = raw.slice(0, semi).split(',');
  if (!/^\d+$/.test(prio ?? '') || !/^\d+$/.test(seq ?? '') || !/^\d+$/.test(usec ?? '')) return null;
  // continuation lines (" KEY=value") follow a newline inside the record
  const text = raw.slice(semi + 1).split('\n')[0]!;
  return { priority: Number(prio) & 7, seq: Number(seq), usec: Number(usec), text };
}

const CHECKSUM = /device-mapper: integrity: (\S+): Checksum failed at sector 0x([0-9a-f]+)/i;
const JOURNAL = /device-mapper: integrity: (\S+): Checksum failed when reading from journal, at sector 0x([0-9a-f]+)/i;
const AEAD = /device-mapper: crypt: (\S+): INTEGRITY AEAD ERROR, sector (\d+)/;
const OTHER = /device-mapper: (?:integrity|crypt): (dm-\d+|\S+?):? (.*)$/;

/** The integrity failure a record reports, or null. */
export function integrityMessage(r: KmsgRecord): IntegrityMessage | null {
  let m = JOURNAL.exec(r.text);
  if (m) return { kind: 'journal-checksum', device: m[1]!, sector: parseInt(m[2]!, 16), seq: r.seq, usec: r.usec, text: r.text };
  m = CHECKSUM.exec(r.text);
  if (m) return { kind: 'checksum', device: m[1]!, sector: parseInt(m[2]!, 16), seq: r.seq, usec: r.usec, text: r.text };
  m = AEAD.exec(r.text);
  if (m) return { kind: 'aead', device: m[1]!, sector: Number(m[2]), seq: r.seq, usec: r.usec, text: r.text };
  if (/device-mapper: (integrity|crypt):/.test(r.text) && /error|fail/i.test(r.text)) {
    m = OTHER.exec(r.text);
    return { kind: 'other', device: m?.[1] ?? '', sector: null, seq: r.seq, usec: r.usec, text: r.text };
  }
  return null;
}

/** Messages naming one of `kernelNames` (for a LUKS2 `_dif`: its own dm-N and the dm-crypt device's above it). */
export function messagesFor(records: readonly KmsgRecord[], kernelNames: readonly string[]): IntegrityMessage[] {
  const names = new Set(kernelNames);
  const out: IntegrityMessage[] = [];
  for (const r of records) {
    const m = integrityMessage(r);
    if (m && names.has(m.device)) out.push(m);
  }
  return out;
}

/**
 * Reads /dev/kmsg without blocking: `open()` skips what is already logged (or keeps it with `fromStart`), each
 * `poll()` returns the records logged since. Records the ring overwrote before we read them are counted in `lost`.
 */
export class KmsgReader {
  private fd: number | null = null;
  private readonly buf = Buffer.alloc(8192);
  lost = 0;

  constructor(private readonly file = '/dev/kmsg') {}

  open(opts: { fromStart?: boolean } = {}): this {
    this.fd = fs.openSync(this.file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    if (!opts.fromStart) this.poll();
    return this;
  }

  poll(max = 100_000): KmsgRecord[] {
    if (this.fd === null) throw new Error('KmsgReader: not open');
    const out: KmsgRecord[] = [];
    for (let i = 0; i < max; i++) {
      let n: number;
      try {
        n = fs.readSync(this.fd, this.buf, 0, this.buf.length, null);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') break;
        if (code === 'EPIPE') {
          this.lost++;
          continue;
        }
        throw e;
      }
      if (n === 0) break;
      const r = parseKmsgRecord(this.buf.toString('utf8', 0, n));
      if (r) out.push(r);
    }
    return out;
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}
