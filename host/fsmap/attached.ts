// Whether the kernel may be using a volume's file system while we read it: an image attached to a loop device (losetup
// writes its backing file to /sys/block/loopN/loop/backing_file), or a block device other devices are stacked on
// (/sys/class/block/NAME/holders: dm-integrity, dm-crypt). Either way a file system on it may be mounted and writing,
// so a mapping read from the disk may already be out of date. Linux only; elsewhere nothing is found.
import fs from 'node:fs';
import path from 'node:path';

function list(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/** the kernel names (loopN) of the loop devices whose backing file is `file` */
function loopsOf(file: string, sys: string): string[] {
  let real: string;
  try {
    real = fs.realpathSync(file);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const n of list(path.join(sys, 'block'))) {
    if (!n.startsWith('loop')) continue;
    try {
      const b = fs.readFileSync(path.join(sys, 'block', n, 'loop', 'backing_file'), 'utf8').trim();
      if (b === real || b === file) out.push(n);
    } catch {
      /* not attached */
    }
  }
  return out;
}

/** the kernel name of block device `dev` (sda, loop3, dm-2), or null when it is not a block device */
function blockName(dev: string): string | null {
  try {
    const real = fs.realpathSync(dev);
    return fs.statSync(real).isBlockDevice() ? path.basename(real) : null;
  } catch {
    return null;
  }
}

/** the devices stacked on the block device named `name` in sysfs (dm-N → /dev/mapper/NAME where known) */
function holdersOf(name: string, sys: string): string[] {
  return list(path.join(sys, 'class', 'block', name, 'holders')).map((h) => {
    try {
      return `/dev/mapper/${fs.readFileSync(path.join(sys, 'class', 'block', h, 'dm', 'name'), 'utf8').trim()}`;
    } catch {
      return `/dev/${h}`;
    }
  });
}

/** why the kernel may be using the volume's file system (each in words), or nothing */
export function kernelUse(paths: Array<string | null | undefined>, sys = '/sys'): string[] {
  const out: string[] = [];
  for (const p of paths) {
    if (!p) continue;
    const loops = loopsOf(p, sys);
    if (loops.length)
      out.push(
        `${p} is attached to ${loops.map((n) => `/dev/${n}`).join(', ')}: if the kernel has the volume active and its file system mounted, blocks may have changed owner since they were read`,
      );
    const name = blockName(p);
    const held = name ? holdersOf(name, sys) : [];
    if (held.length) out.push(`${p} is held by ${held.join(', ')}: if its file system is mounted, blocks may have changed owner since they were read`);
  }
  return out;
}

/**
 * The kernel device holding an image or block device, from sysfs (readable without root): a block device with a
 * holder, or an image attached to a loop device that has one. The app's engine must not open such a volume; this
 * answers where the listing of the kernel's devices (root) has not been made. null: nothing holds it.
 */
export function heldByKernel(paths: Array<string | null | undefined>, sys = '/sys'): string | null {
  for (const p of paths) {
    if (!p) continue;
    const name = blockName(p);
    for (const n of name ? [name] : loopsOf(p, sys)) {
      const h = holdersOf(n, sys)[0];
      if (h) return h;
    }
  }
  return null;
}
