// What the mappers read: the volume's logical data (an image, a dm-integrity volume, a LUKS2 volume). Not part of
// the contract (it holds Buffers); the results in types.ts are.
import type { SectorRange } from './types.js';

/** The volume's logical data, read without tag verification. */
export interface SectorSource {
  /** 512-byte sectors the file system sees */
  readonly sectors: number;
  /** a short name for messages (the image or volume path's base name) */
  readonly name: string;
  /**
   * Reads `count` sectors from `sector` into out[0 .. count*512). Returns the sub-ranges whose contents are not
   * available (a LUKS2 sector failing authentication: its plaintext does not exist; the bytes there are zeros),
   * or null when every byte was read. Throws on an I/O error.
   */
  read(sector: number, count: number, out: Buffer): SectorRange[] | null;
}
