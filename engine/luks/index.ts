// LUKS2: headers (read, validate, format), keyslot unlock. The one entry point for the rest of the engine.
export * from './types.js';
export { readLuks2Header, readLuks2HeaderFrom, LuksHeaderError, integrityKeySize } from './header.js';
