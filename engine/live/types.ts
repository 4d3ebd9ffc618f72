// The kernel's own dm-integrity devices (issue 18): plain data describing what is active in the kernel, what it is
// doing, and what our controls would run. Every value here is keyless and crosses worker_threads, the privileged
// helper's pipe and the host contract as JSON.

/** dm-integrity's mode letter (dm_integrity_ctr): journal, bitmap, direct, recovery, inline (target 1.12). */
export type IntegrityMode = 'J' | 'B' | 'D' | 'R' | 'I';

/** An algorithm of a table line: its kernel crypto API name only. The key, if the table carries one, is never kept:
 *  `keyed` says one was there and `keyBytes` how long it was. */
export interface TableAlgorithm {
  name: string;
  keyed: boolean;
  keyBytes?: number;
}

/** The options of a dm-integrity table line, by the names dm_integrity_status(STATUSTYPE_TABLE) prints. */
export interface IntegrityTableOptions {
  meta_device?: string;
  block_size?: number;
  /** printed whenever the superblock's recalculating flag is set, not only when given at load */
  recalculate: boolean;
  reset_recalculate: boolean;
  allow_discards: boolean;
  journal_sectors?: number;
  interleave_sectors?: number;
  buffer_sectors?: number;
  journal_watermark?: number;
  commit_time?: number;
  sectors_per_bit?: number;
  bitmap_flush_interval?: number;
  fix_padding: boolean;
  fix_hmac: boolean;
  legacy_recalculate: boolean;
  internal_hash?: TableAlgorithm;
  journal_crypt?: TableAlgorithm;
  journal_mac?: TableAlgorithm;
}

/** One `integrity` segment of a dm table, decoded (keys redacted). */
export interface IntegrityTable {
  /** the segment's start and length in the dm device, 512-byte sectors */
  start: number;
  length: number;
  /** the data device as the kernel prints it: "MAJ:MIN" */
  device: string;
  /** ic->start: sectors before the superblock on the data (or meta) device */
  offset: number;
  tag_size: number;
  mode: IntegrityMode;
  options: IntegrityTableOptions;
  /** options this decoder does not know, verbatim when they carry no key-like value, else their name only */
  unknown: string[];
  /** the line as decoded, every key replaced by `<key>` (dmsetup table without --showkeys prints zeros) */
  line: string;
}

/** `dmsetup status` of an integrity segment: `<mismatches> <provided_data_sectors> <recalc_sector | ->`. */
export interface IntegrityStatus {
  /** failed read requests since this table was loaded (the kernel's number_of_mismatches) */
  mismatches: number;
  provided_data_sectors: number;
  /** null: the superblock's recalculating flag is not set ("-": never recalculated since format) */
  recalc_sector: number | null;
}

/** Who manages a device, from its dm UUID (and, for cryptsetup before 2.7, from the LUKS2 device above it). */
export type OwnerKind = 'integritysetup' | 'luks2' | 'lvm' | 'other' | 'none';
export interface Owner {
  kind: OwnerKind;
  /** the tool a user manages it with */
  tool: 'integritysetup' | 'cryptsetup' | 'lvm' | null;
  /** LUKS2: the dm name of the dm-crypt device above (what `cryptsetup open/close` takes) and the LUKS UUID */
  luks?: { name: string | null; uuid: string };
  /** LVM raid integrity: volume group and the raid LV this image belongs to (vg/lv for lvchange) */
  lvm?: { vg: string; lv: string; sub: string };
  /** the dm UUID as the kernel has it ('' when none) */
  uuid: string;
}

/** dm-integrity target version (`dmsetup targets`) and what cryptsetup gates on it (lib/libdevmapper.c
 *  _dm_set_integrity_compat). */
export interface TargetVersion {
  version: [number, number, number];
  text: string;
  features: {
    recalculate: boolean; // 1.2
    bitmap: boolean; // 1.3
    fix_padding: boolean; // 1.4
    discards: boolean; // 1.6
    fix_hmac: boolean; // 1.7 (and legacy_recalculate)
    reset_recalculate: boolean; // 1.8
    inline: boolean; // 1.12
  };
}

/** A mount of a block device (/proc/self/mountinfo). */
export interface MountInfo {
  mount_point: string;
  fs_type: string;
  source: string;
  read_only: boolean;
  /** major:minor of the mounted device */
  devno: string;
}

/** A block device referred to by the kernel's major:minor. */
export interface BlockRef {
  devno: string;
  /** the kernel's name (sysfs): vda, dm-3, loop0, nvme0n1p2; null when it cannot be resolved */
  kernel_name: string | null;
  /** /dev/NAME (devtmpfs names, present without udev) */
  path: string | null;
  size_sectors: number | null;
  /** a loop device's backing file */
  loop_file?: string;
  /** a device-mapper device's name */
  dm_name?: string;
}

/** What is stacked on an integrity device (its holders), one level, with what is mounted there. */
export interface Holder {
  kind: 'crypt' | 'dm' | 'other';
  devno: string;
  kernel_name: string;
  dm_name?: string;
  dm_uuid?: string;
  /** dm-crypt: cipher spec as in the table (capi:…), the `integrity:<tag>:aead` option, sector size; never a key */
  crypt?: { cipher: string; integrity: string | null; sector_size: number };
  mounts: MountInfo[];
}

/** Which layer verifies reads of this volume's data. */
export type Verifier = 'dm-integrity' | 'dm-crypt' | 'nothing';

/** One active dm device with an integrity target, as discovery found it. Keyless. */
export interface LiveVolume {
  name: string;
  kernel_name: string;
  devno: string;
  size_sectors: number;
  uuid: string;
  suspended: boolean;
  read_only: boolean;
  open_count: number;
  event_nr: number;
  segments: number;
  table: IntegrityTable;
  owner: Owner;
  /** the data device (table's device) and, when the table has one, the metadata device */
  data_device: BlockRef;
  meta_device: BlockRef | null;
  /** where the superblock is: the meta device if any, else the data device, at table.offset sectors */
  superblock_device: string | null;
  holders: Holder[];
  /** mounts of this device itself */
  mounts: MountInfo[];
  target: TargetVersion | null;
  /** who verifies reads: dm-integrity with an internal hash (not in mode R), dm-crypt above a tag-only device */
  verified_by: Verifier;
  /** the device a live scrub reads so that the kernel verifies: /dev/mapper/NAME, or the dm-crypt device above */
  scrub_device: string | null;
  status: IntegrityStatus | null;
}
