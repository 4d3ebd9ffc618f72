// Typed errors: every failure the engine reports to a user is one of these, with one clear message.

/** A problem with the input (image, option, key) that the user can act on. `code` is stable for scripts. */
export class IntegrityStudioError extends Error {
  /** the option the problem is about (FormatOptions / open option name, e.g. 'size', 'force', 'path'), so a host
   *  can word it for its own interface (a form's controls rather than CLI flags) */
  readonly field?: string;
  /** values the message was built from (paths, what was found), for that rewording */
  readonly detail?: Record<string, string | number>;
  constructor(
    message: string,
    readonly code: string = 'EINVAL',
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
