// Whether the kernel may be using a volume's file system while we read it: an image attached to a loop device (losetup
// writes its backing file to /sys/block/loopN/loop/backing_file), or a block device other devices are stacked on
// (/sys/class/block/NAME/holders: dm-integrity, dm-crypt). Either way a file system on it may be mounted and writing,
// so a mapping read from the disk may already be out of date. Linux only; elsewhere nothing is found.
import fs from 'node:fs';
import path from 'node:path';

const SYS_BLOCK = '/sys/block';

function list(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/** the loop devices whose backing file is `file` */
function loopsOf(file: string): string[] {
  let real: string;
  try {
    real = fs.realpathSync(file);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const n of list(SYS_BLOCK)) {
    if (!n.startsWith('loop')) continue;
    try {
      const b = fs.readFileSync(path.join(SYS_BLOCK, n, 'loop', 'backing_file'), 'utf8').trim();
      if (b === real || b === file) out.push(`/dev/${n}`);
    } catch {
      /* not attached */
    }
  }
  return out;
}

/** the devices stacked on block device `dev` (dm-N, by their dm names when known) */
function holdersOf(dev: string): string[] {
  let st: fs.Stats;
  try {
    st = fs.statSync(dev);
  } catch {
    return [];
  }
  if (!st.isBlockDevice()) return [];
  const name = path.basename(fs.realpathSync(dev));
  return list(`/sys/class/block/${name}/holders`).map((h) => {
    try {
      return `/dev/mapper/${fs.readFileSync(`/sys/class/block/${h}/dm/name`, 'utf8').trim()}`;
    } catch {
      return `/dev/${h}`;
    }
  });
}

/** why the kernel may be using the volume's file system (each in words), or nothing */
export function kernelUse(paths: Array<string | null | undefined>): string[] {
  const out: string[] = [];
  for (const p of paths) {
    if (!p) continue;
    const loops = loopsOf(p);
    if (loops.length)
      out.push(
        `${p} is attached to ${loops.join(', ')}: if the kernel has the volume active and its file system mounted, blocks may have changed owner since they were read`,
      );
    const held = holdersOf(p);
    if (held.length) out.push(`${p} is held by ${held.join(', ')}: if its file system is mounted, blocks may have changed owner since they were read`);
  }
  return out;
}

/** the dm devices stacked on the block device named `name` in sysfs (dm-N → /dev/mapper/NAME where known) */
function holderNames(name: string, sys: string): string[] {
  return list(path.join(sys, 'class', 'block', name, 'holders')).map((h) => {
    try {
      return `/dev/mapper/${fs.readFileSync(path.join(sys, 'class', 'block', h, 'dm', 'name'), 'utf8').trim()}`;
    } catch {
      return `/dev/${h}`;
    }
  });
}

/**
 * The kernel device holding an image or block device, from sysfs (readable without root): a block device with a
 * holder, or an image attached to a loop device that has one. The app's engine must not open such a volume; this
 * answers where the listing of the kernel's devices (root) has not been made. null: nothing holds it.
 */
export function heldByKernel(paths: Array<string | null | undefined>, sys = '/sys'): string | null {
  for (const p of paths) {
    if (!p) continue;
    let real: string;
    let st: fs.Stats;
    try {
      real = fs.realpathSync(p);
      st = fs.statSync(real);
    } catch {
      continue;
    }
    const names: string[] = [];
    if (st.isBlockDevice()) names.push(path.basename(real));
    else {
      for (const n of list(path.join(sys, 'block'))) {
        if (!n.startsWith('loop')) continue;
        try {
          const b = fs.readFileSync(path.join(sys, 'block', n, 'loop', 'backing_file'), 'utf8').trim();
          if (b === real || b === p) names.push(n);
        } catch {
          /* not attached */
        }
      }
    }
    for (const n of names) {
      const h = holderNames(n, sys)[0];
      if (h) return h;
    }
  }
  return null;
}
