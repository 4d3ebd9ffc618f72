// Whether the live features can work on this machine, and if not, a sentence a user can act on. Never throws.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findTool } from './system.js';
import type { LiveAvailability } from './wire.js';

export type { LiveAvailability } from './wire.js';

export interface AvailabilityProbe {
  platform?: NodeJS.Platform;
  uid?: number;
  exists?: (p: string) => boolean;
  read?: (p: string) => string | null;
  tool?: (name: string) => string | null;
  release?: string;
}

function modulesDir(exists: (p: string) => boolean, release: string): string | null {
  return ['/lib/modules', '/usr/lib/modules'].map((d) => path.join(d, release)).find((d) => exists(d)) ?? null;
}

/** Whether a module is built in or installed for this kernel (modules.builtin / modules.dep). */
function moduleState(
  exists: (p: string) => boolean,
  read: (p: string) => string | null,
  release: string,
  file: string,
  builtinPath: string,
): 'module' | 'builtin' | null {
  const base = modulesDir(exists, release);
  if (!base) return null;
  if ((read(path.join(base, 'modules.builtin')) ?? '').includes(builtinPath)) return 'builtin';
  const dep = read(path.join(base, 'modules.dep')) ?? '';
  return new RegExp(`(^|/)${file.replace(/[-_]/g, '[-_]')}\\.ko(\\.[a-z]+)?:`, 'm').test(dep) ? 'module' : null;
}

function dmIntegrityState(exists: (p: string) => boolean, read: (p: string) => string | null, release: string): LiveAvailability['dm_integrity'] {
  if (exists('/sys/module/dm_integrity')) return 'loaded';
  if (!modulesDir(exists, release)) return 'unknown';
  return moduleState(exists, read, release, 'dm-integrity', 'drivers/md/dm-integrity.ko') ?? 'absent';
}

export function liveAvailability(probe: AvailabilityProbe = {}): LiveAvailability {
  const platform = probe.platform ?? process.platform;
  const exists = probe.exists ?? ((p: string) => fs.existsSync(p));
  const read =
    probe.read ??
    ((p: string) => {
      try {
        return fs.readFileSync(p, 'utf8');
      } catch {
        return null;
      }
    });
  const tool = probe.tool ?? ((n: string) => findTool(n));
  const out: LiveAvailability = {
    available: false,
    via: null,
    reason: null,
    tools: { dmsetup: null, integritysetup: null, cryptsetup: null, pkexec: null },
    dm_integrity: 'unknown',
  };
  try {
    if (platform !== 'linux') {
      out.reason = `Live volumes are the Linux kernel's dm-integrity devices; this system is ${platform}. Images and devices still work with the app's own engine.`;
      return out;
    }
    out.tools = { dmsetup: tool('dmsetup'), integritysetup: tool('integritysetup'), cryptsetup: tool('cryptsetup'), pkexec: tool('pkexec') };
    out.dm_integrity = dmIntegrityState(exists, read, probe.release ?? os.release());
    // /proc/misc lists device-mapper once dm_mod is loaded (or built in); otherwise opening /dev/mapper/control
    // loads it on demand, if the module exists
    const dmLoaded = /^\s*\d+ device-mapper$/m.test(read('/proc/misc') ?? '') || exists('/sys/class/misc/device-mapper');
    if (!dmLoaded && !moduleState(exists, read, probe.release ?? os.release(), 'dm-mod', 'drivers/md/dm-mod.ko')) {
      out.reason =
        "This kernel has no device-mapper (dm_mod is neither loaded nor installed as a module): use a kernel built with CONFIG_BLK_DEV_DM, or on a container host give the container the host's /dev/mapper/control.";
      return out;
    }
    if (out.dm_integrity === 'absent') {
      out.reason = 'This kernel has no dm-integrity target (CONFIG_DM_INTEGRITY): no integrity device can be active here.';
      return out;
    }
    if (!out.tools.dmsetup) {
      out.reason = 'dmsetup is not installed: install the dmsetup package (Debian/Ubuntu: apt install dmsetup; Fedora: dnf install device-mapper).';
      return out;
    }
    const uid = probe.uid ?? process.getuid?.() ?? -1;
    if (uid === 0) {
      out.via = 'root';
    } else if (out.tools.pkexec) {
      out.via = 'pkexec';
    } else {
      out.reason =
        'Reading device-mapper tables and controlling them needs root, and pkexec (polkit) is not installed to ask for it: install polkit (apt install pkexec), or run `integrity-studio serve` as root.';
      return out;
    }
    out.available = true;
    return out;
  } catch (e) {
    out.available = false;
    out.reason = `Live volumes could not be checked: ${(e as Error).message}`;
    return out;
  }
}
