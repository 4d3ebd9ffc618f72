// The engine's errors name CLI flags (its first interface); the dashboard's create/add forms have controls
// instead. This rewords an engine error for the form, from its field and detail (engine/errors.ts), and as a
// fallback replaces any flag left in the message with the name of the form's control.

interface EngineErrorLike {
  message: string;
  code?: string;
  field?: string;
  detail?: Record<string, string | number>;
}

/** integritysetup flag → the form control that sets it (longest first, so --integrity-key-file wins over --integrity) */
const CONTROLS: Array<[string, string]> = (
  [
    ['--size', 'Size'],
    ['--force', '"Format even though it holds data"'],
    ['--tag-size', 'Tag size'],
    ['--sector-size', 'Sector size'],
    ['--journal-size', 'Journal size'],
    ['--interleave-sectors', 'Interleave sectors'],
    ['--buffer-sectors', 'Buffer sectors'],
    ['--integrity-key-file', 'Integrity key'],
    ['--integrity-key-size', 'Integrity key'],
    ['--journal-integrity-key-file', 'Journal integrity key'],
    ['--journal-crypt-key-file', 'Journal encryption key'],
    ['--journal-integrity', 'Journal integrity'],
    ['--journal-crypt', 'Journal encryption'],
    ['--integrity-recalculate', 'Recalculate'],
    ['--integrity-legacy-padding', 'Legacy padding'],
    ['--integrity-legacy-hmac', 'Legacy HMAC'],
    ['--integrity-bitmap-mode', 'Mode: bitmap'],
    ['--integrity-no-journal', 'Mode: direct'],
    ['--integrity', 'Integrity algorithm'],
    ['--data-device', 'Data device'],
    ['--no-wipe', 'Skip wipe'],
    ['--allow-discards', 'Allow discards'],
    ['--bitmap-sectors-per-bit', 'Bitmap sectors per bit'],
    ['--bitmap-flush-time', 'Bitmap flush time'],
  ] as Array<[string, string]>
).sort((a, b) => b[0].length - a[0].length);

export function formMessage(e: EngineErrorLike): string {
  const d = e.detail ?? {};
  switch (e.field) {
    case 'path':
      if (e.code === 'ENOENT' && d.folder) return `folder ${d.folder} does not exist`;
      break;
    case 'size':
      if (e.code === 'ENOENT') return `${d.path} does not exist: give a Size to create a new image file there`;
      if (e.code === 'ENODEV') return `${d.path}: no such device (Size creates image files, not device nodes)`;
      if (e.code === 'EEXIST') return `${d.path} already exists: leave Size empty to format the existing file (Size only creates a new image file)`;
      return `Size must be a multiple of 512 bytes and at least 4096 bytes (${d.size} was given)`;
    case 'force':
      return `${d.found}; tick "Format even though it holds data" to format it anyway`;
    case 'dataDevice':
      if (e.code === 'ENOENT') return `Data device ${d.path}: no such file or device`;
      return `Data device ${d.path} is the image itself: give a separate data device, or none`;
  }
  let m = e.message
    .replace(/\s*\(and --[\w-]+-key-size\)/g, '')
    .replace(/--([\w-]+)-key-file given without --([\w-]+)/, '--$1-key-file given without choosing --$2');
  for (const [flag, control] of CONTROLS) m = m.split(flag).join(control);
  return m;
}
