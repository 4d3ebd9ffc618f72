import { MapError, BlockReader } from '../reader.js';
import type { Collector, PathInfo } from '../collect.js';
import type { RangeSet } from '../ranges.js';
import type { FreeCheck, FsMapOptions, SectorSource } from '../types.js';
export interface XfsFs { description: string; sb: { sb_fname: string; sb_uuid: Buffer }; bs: number; reader: BlockReader }
export function openXfs(src: SectorSource, bad: RangeSet): XfsFs { void src; void bad; throw new MapError('xfs not yet'); }
export function mapXfs(fs: XfsFs, bad: RangeSet, o: FsMapOptions): { collector: Collector; names: Map<number, PathInfo>; may_be_stale: string[]; inodes_scanned: number; directories_scanned: number; method: string } { void fs; void bad; void o; throw new MapError('xfs not yet'); }
export function xfsFreeCheck(fs: XfsFs, set: RangeSet): FreeCheck { void fs; void set; throw new MapError('xfs not yet'); }
