// Typed errors: every failure the engine reports to a user is one of these, with one clear message and a code.

/** Why a command failed, for a program (the message is for people). */
export type ErrorCode =
  /** the command would destroy something that exists: the message names it; send it again confirmed */
  | 'ECONFIRM'
  /** bad input, in the words of the interface it came from */
  | 'EINVAL'
  | 'EUSAGE'
  /** not a dm-integrity / LUKS2 structure that can be read */
  | 'EFORMAT'
  | 'EJOURNAL'
  | 'ETRUNC'
  | 'EUNSUPPORTED'
  /** a key is wrong (a MAC does not match, a journal does not decrypt, no keyslot opens) */
  | 'EKEY'
  /** busy: another writer, a job running, a device held by the kernel */
  | 'EBUSY'
  | 'ECANCELED'
  | 'EREFUSED'
  /** the kernel's devices (engine/live): device-mapper tools and tables, the privileged helper */
  | 'EDMSETUP'
  | 'EDMSTATUS'
  | 'EDMINFO'
  | 'EDMTARGETS'
  | 'EDMTABLE'
  | 'EDMCONTROL'
  | 'ENOTOOL'
  | 'ENOHELPER'
  | 'EAUTH'
  | 'EPROTO'
  | 'EUNKNOWN'
  /** no keyslot opens with the passphrase; an inline-mode volume's data from an image */
  | 'ENOKEY'
  | 'EINLINE'
  /** the system's own (errno) */
  | 'ENOENT'
  | 'EEXIST'
  | 'EISDIR'
  | 'ENODEV'
  | 'ENXIO'
  | 'EIO'
  | 'EILSEQ'
  | 'ENOSPC'
  | 'EDQUOT'
  | 'EROFS'
  | 'EACCES'
  | 'EPERM'
  | 'EINTR'
  | 'EADDRINUSE'
  | 'E2BIG';
export const ERROR_CODES: readonly ErrorCode[] = [
  'ECONFIRM',
  'EINVAL',
  'EUSAGE',
  'EFORMAT',
  'EJOURNAL',
  'ETRUNC',
  'EUNSUPPORTED',
  'EKEY',
  'EBUSY',
  'ECANCELED',
  'EREFUSED',
  'ENOENT',
  'EEXIST',
  'EISDIR',
  'ENODEV',
  'ENXIO',
  'EIO',
  'EILSEQ',
  'ENOSPC',
  'EDQUOT',
  'EROFS',
  'EACCES',
  'EPERM',
  'EINTR',
  'EADDRINUSE',
  'E2BIG',
  'EDMSETUP',
  'EDMSTATUS',
  'EDMINFO',
  'EDMTARGETS',
  'EDMTABLE',
  'EDMCONTROL',
  'ENOTOOL',
  'ENOHELPER',
  'EAUTH',
  'EPROTO',
  'EUNKNOWN',
  'ENOKEY',
  'EINLINE',
];

/** A system error's code as an ErrorCode (an errno we pass on), or `fallback`. */
export function errnoCode(e: unknown, fallback: ErrorCode = 'EIO'): ErrorCode {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === 'string' && (ERROR_CODES as readonly string[]).includes(c) ? (c as ErrorCode) : fallback;
}

/** A problem with the input (image, option, key) that the user can act on. `code` is stable for scripts. */
export class IntegrityStudioError extends Error {
  /** the option the problem is about (FormatOptions / open option name, e.g. 'size', 'force', 'path'), so a host
   *  can word it for its own interface (a form's controls rather than CLI flags) */
  readonly field?: string;
  /** values the message was built from (paths, what was found), for that rewording */
  readonly detail?: Record<string, string | number>;
  constructor(
    message: string,
    readonly code: ErrorCode = 'EINVAL',
    info: { field?: string; detail?: Record<string, string | number> } = {},
  ) {
    super(message);
    this.name = 'IntegrityStudioError';
    if (info.field) this.field = info.field;
    if (info.detail) this.detail = info.detail;
  }
}

/** The superblock or on-disk structures are not a valid dm-integrity volume. */
export class FormatError extends IntegrityStudioError {
  constructor(message: string) {
    super(message, 'EFORMAT');
    this.name = 'FormatError';
  }
}

/** A block whose tag does not match its data (the kernel returns EILSEQ for these). */
export class IntegrityError extends IntegrityStudioError {
  constructor(
    /** logical 512-byte sector where the bad block starts */
    readonly sector: number,
    message = `integrity check failed at logical sector ${sector}`,
  ) {
    super(message, 'EILSEQ');
    this.name = 'IntegrityError';
  }
}
