// A byte range of another BlockDevice seen as a device of its own: the LUKS2 data segment, where dm-crypt's
// dm-integrity device starts (the kernel stacks the integrity target at the segment offset: `integrity <dev> <offset>`).
import { IntegrityStudioError } from '../errors.js';
import type { BlockDevice, NativeSource } from './device.js';

export class SliceDevice implements BlockDevice {
  readonly readOnly: boolean;
  readonly name: string;
  constructor(
    private readonly base: BlockDevice,
    /** byte offset of the slice in `base` */
    readonly offset: number,
    readonly size: number,
    /** close `base` with the slice */
    private readonly owns = true,
  ) {
    if (offset < 0 || size < 0 || offset + size > base.size) {
      throw new IntegrityStudioError(`${base.name}: the range at byte ${offset} of ${size} bytes is past the end of the device (${base.size} bytes)`, 'ETRUNC');
    }
    this.readOnly = base.readOnly;
    this.name = base.name;
  }
  private check(len: number, pos: number): void {
    if (pos < 0 || pos + len > this.size)
      throw new IntegrityStudioError(`${this.name}: access at byte ${pos} past the end of the segment (${this.size} bytes)`, 'ETRUNC');
  }
  read(buf: Uint8Array, pos: number): void {
    this.check(buf.length, pos);
    this.base.read(buf, this.offset + pos);
  }
  write(buf: Uint8Array, pos: number): void {
    this.check(buf.length, pos);
    this.base.write(buf, this.offset + pos);
  }
  flush(): void {
    this.base.flush();
  }
  hasHoles(): boolean {
    return this.base.hasHoles?.() ?? false;
  }
  nativeSource(pos: number): NativeSource | null {
    return this.base.nativeSource?.(this.offset + pos) ?? null;
  }
  close(): void {
    if (this.owns) this.base.close();
  }
}
