// Sizes as the dashboard, the host's messages and the CLI print them: one formatBytes. Pure, no I/O (the renderer
// takes it through the contract, engine/api.ts).

/** 1536 → "1.5 KiB"; bytes below 1 KiB as a whole number ("512 B") */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i ? n.toFixed(1) : Math.round(n)} ${units[i]}`;
}

/** 1572864 → "1.5 MiB/s" */
export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}
