// Snapshots and progress events for the renderer's node tests (shaped as the host sends them).
import type { DamageSummary, JobProgress, Verification, VolumeSnapshot } from '../../engine/api.js';

export function emptyDamage(): DamageSummary {
  return {
    bad_blocks: 0,
    read_errors: 0,
    bad_range_count: 0,
    read_error_range_count: 0,
    bad_ranges: [],
    read_error_ranges: [],
    map: { cells: 256, sectors_per_cell: 128, bad: new Array(256).fill(0), read_errors: new Array(256).fill(0) },
  };
}

export function verification(over: Partial<Verification> = {}): Verification {
  // the damage summary a host would send with these ranges and counts
  const damage = over.damage ?? {
    ...emptyDamage(),
    bad_blocks: over.bad_blocks ?? 0,
    read_errors: over.read_errors ?? 0,
    bad_range_count: (over.bad_ranges ?? []).length,
    read_error_range_count: (over.read_error_ranges ?? []).length,
    bad_ranges: over.bad_ranges ?? [],
    read_error_ranges: over.read_error_ranges ?? [],
  };
  return {
    scrub: 'none',
    started_at: null,
    finished_at: null,
    duration_ms: null,
    position_sector: 0,
    running_elsewhere: null,
    interrupted: null,
    total_blocks: 32768,
    checked_blocks: 0,
    bad_blocks: 0,
    bad_ranges: [],
    carried_over: null,
    changed_since: [],
    changed_during: [],
    change_detection: 'image',
    read_errors: 0,
    read_error_ranges: [],
    unchecked_blocks: 0,
    unchecked: [],
    suspect_algorithm_or_key: false,
    ...over,
    damage,
  };
}

export function vol(id: string, over: Partial<VolumeSnapshot> = {}): VolumeSnapshot {
  return {
    id,
    name: `vol-${id}`,
    path: `/tmp/${id}.img`,
    data_device: null,
    size_bytes: 16 << 20,
    algorithm: 'crc32c',
    mode: 'journal',
    state: 'not-checked',
    conditions: ['not-checked'],
    error_count: 0,
    bad_ranges: [],
    verification: verification(),
    journal: null,
    journal_disk: null,
    jobs: {},
    runs: [],
    options: {
      integrity: 'crc32c',
      journal_integrity: null,
      journal_crypt: null,
      mode: 'journal',
      data_device: null,
      allow_discards: false,
      bitmap_sectors_per_bit: null,
      bitmap_flush_time_ms: null,
    },
    keys: { integrity: false, journalIntegrity: false, journalCrypt: false },
    keys_required: { integrity: false, journalIntegrity: false, journalCrypt: false },
    superblock: {
      version: 5,
      flags: ['fix_padding', 'fix_hmac'],
      integrity_tag_size: 4,
      journal_sections: 1,
      provided_data_sectors: 32768,
      log2_interleave_sectors: 15,
      log2_sectors_per_block: 0,
      log2_blocks_per_bitmap_bit: 15,
      recalc_sector: null,
    },
    geometry: { block_size: 512, tag_size: 4, initial_sectors: 184, metadata_run: 256, journal_section_sectors: 176, journal_entries: 16, meta_dev: false },
    open_command: 'integritysetup open x',
    dm_table: '0 32768 integrity x 0 4 J 1 internal_hash:crc32c',
    error: null,
    speed_limit_mib_s: null,
    kernel: null,
    ...over,
  };
}

export const prog = (o: Partial<JobProgress>): JobProgress => ({
  job: 'recalc',
  state: 'running',
  position_sector: 0,
  total_sectors: 32768,
  start_sector: 0,
  sectors_per_block: 1,
  bytes_per_second: 0,
  eta_ms: null,
  mismatches: 0,
  bad_ranges: [],
  journal: null,
  ...o,
});
