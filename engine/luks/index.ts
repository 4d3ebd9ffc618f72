// LUKS2: headers (read, validate, format), keyslot unlock. The one entry point for the rest of the engine.
export * from './types.js';
export { readLuks2Header, readLuks2HeaderFrom, LuksHeaderError, integrityKeySize } from './header.js';
export { unlockLuks2, NoKeyError, NO_KEY_MESSAGE, secretBytes, type Luks2Secret, type UnlockOptions, type UnlockProgress } from './keyslot.js';
export { deriveKey, argon2Backend, setKdfNotice, estimateKdfMs, type KdfProgress } from './kdf.js';
export { afMerge, afSplit } from './af.js';
export { formatLuks2Header, integrityJsonName, defaultKeyBits, LUKS2_DEFAULT_DATA_OFFSET, type Luks2FormatOptions } from './format.js';
