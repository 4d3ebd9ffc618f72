// Who owns an active integrity device, from its dm UUID, as the tools that create them set it:
// - integritysetup: CRYPT-INTEGRITY-<name> (cryptsetup lib/setup.c, dm_create_device with type INTEGRITY);
// - LUKS2 with --integrity: the `<name>_dif` device below dm-crypt: CRYPT-SUBDEV-<luks uuid>-<name>_dif from
//   cryptsetup 2.7 on (seen with 2.8.8), CRYPT-INTEGRITY-<luks uuid>-<name>_dif before (seen with 2.6.1); the
//   dm-crypt device above it is CRYPT-LUKS2-<luks uuid>-<name>;
// - LVM raid integrity: LVM-<vg uuid><lv uuid>[-suffix], the dm name vg-lv_rimage_N (lvm's '-' doubled in names).
import type { Owner } from './types.js';

const HEX32 = /^[0-9a-f]{32}$/i;

/** The LUKS2 device above, if a holder's UUID is CRYPT-LUKS2-<uuid>-<name>. */
export interface HolderId {
  dm_name?: string;
  dm_uuid?: string;
}

/** vg-lv as LVM names dm devices (dm_build_dm_name: each '-' inside a name doubled). */
export function splitLvmName(dmName: string): { vg: string; lv: string } | null {
  const m = /^((?:[^-]|--)+)-((?:[^-]|--)+)$/.exec(dmName);
  if (!m) return null;
  return { vg: m[1]!.replace(/--/g, '-'), lv: m[2]!.replace(/--/g, '-') };
}

export function ownerOf(uuid: string, name: string, holders: readonly HolderId[] = []): Owner {
  const luksHolder = (hex: string) => holders.find((h) => h.dm_uuid?.toLowerCase().startsWith(`crypt-luks2-${hex.toLowerCase()}-`));
  let m = /^CRYPT-SUBDEV-([0-9a-f]{32})-/i.exec(uuid);
  if (m) {
    const h = luksHolder(m[1]!);
    return {
      kind: 'luks2',
      tool: 'cryptsetup',
      uuid,
      luks: { uuid: formatUuid(m[1]!), name: h?.dm_name ?? (name.endsWith('_dif') ? name.slice(0, -4) : null) },
    };
  }
  m = /^CRYPT-INTEGRITY-([^-]+)-/i.exec(uuid);
  if (m && HEX32.test(m[1]!)) {
    const h = luksHolder(m[1]!);
    if (h || name.endsWith('_dif')) {
      return { kind: 'luks2', tool: 'cryptsetup', uuid, luks: { uuid: formatUuid(m[1]!), name: h?.dm_name ?? name.slice(0, -4) } };
    }
  }
  if (/^CRYPT-INTEGRITY-/i.test(uuid)) return { kind: 'integritysetup', tool: 'integritysetup', uuid };
  if (/^LVM-/.test(uuid)) {
    const parts = splitLvmName(name);
    const sub = parts?.lv ?? name;
    // the integrity layer of a raid image is <lv>_rimage_<n>; lvchange/lvconvert take the raid LV itself
    const lv = sub.replace(/_rimage_\d+$/, '');
    return { kind: 'lvm', tool: 'lvm', uuid, lvm: { vg: parts?.vg ?? '', lv, sub } };
  }
  return { kind: uuid ? 'other' : 'none', tool: null, uuid };
}

function formatUuid(hex: string): string {
  const h = hex.toLowerCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
