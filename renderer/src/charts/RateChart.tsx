// The rate of the current run over time: an SVG with both axes labelled and their units. It always takes the
// same place (the page never jumps): without samples it shows empty axes and says why.
const W = 360,
  H = 140,
  L = 56,
  R = 10,
  T = 10,
  B = 30;
const UNITS: Array<[number, string]> = [
  [1024 ** 3, 'GiB/s'],
  [1024 ** 2, 'MiB/s'],
  [1024, 'KiB/s'],
  [1, 'B/s'],
];

function niceMax(x: number): number {
  if (x <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

export function RateChart({ samples, label, idle }: { samples: Array<[number, number]>; label: string; idle?: string }) {
  const max = samples.length ? Math.max(...samples.map((s) => s[1])) : 0;
  const [div, unit] = UNITS.find(([d]) => max >= d) ?? UNITS[1]!;
  const top = niceMax(max / div);
  const t0 = samples[0]?.[0] ?? 0,
    t1 = samples.at(-1)?.[0] ?? 0;
  const span = Math.max(1, (t1 - t0) / 1000);
  const x = (t: number) => L + ((t - t0) / 1000 / span) * (W - L - R);
  const y = (r: number) => T + (1 - r / div / top) * (H - T - B);
  const pts = samples.map(([t, r]) => `${x(t).toFixed(1)},${y(r).toFixed(1)}`).join(' ');
  const desc =
    samples.length >= 1
      ? `${label}: ${samples.length} sample${samples.length === 1 ? '' : 's'} over ${Math.round(span)} s, up to ${(max / div).toFixed(1)} ${unit}`
      : `${label}: ${idle ?? 'no samples yet'}`;
  return (
    <figure className="chart-box">
      <svg className="chart" width={W} height={H} viewBox={`0 0 ${W} ${H}`} role="img" aria-label={desc}>
        <line className="axis" x1={L} y1={T} x2={L} y2={H - B} />
        <line className="axis" x1={L} y1={H - B} x2={W - R} y2={H - B} />
        <line className="grid-line" x1={L} y1={y((top * div) / 2)} x2={W - R} y2={y((top * div) / 2)} />
        <text className="tick" x={L - 4} y={T + 4} textAnchor="end">
          {top}
        </text>
        <text className="tick" x={L - 4} y={y((top * div) / 2) + 4} textAnchor="end">
          {top / 2}
        </text>
        <text className="tick" x={L - 4} y={H - B + 4} textAnchor="end">
          0
        </text>
        <text className="tick" x={12} y={(H - B) / 2 + T} textAnchor="middle" transform={`rotate(-90 12 ${(H - B) / 2 + T})`}>
          {unit}
        </text>
        <text className="tick" x={L} y={H - B + 14} textAnchor="middle">
          0 s
        </text>
        <text className="tick" x={W - R} y={H - B + 14} textAnchor="end">
          {samples.length >= 2 ? `${Math.round(span)} s` : ''}
        </text>
        <text className="tick" x={(L + W - R) / 2} y={H - 4} textAnchor="middle">
          time since this run started
        </text>
        {samples.length >= 2 ? (
          <polyline points={pts} fill="none" stroke="currentColor" strokeWidth="2" />
        ) : samples.length === 1 ? (
          <circle cx={x(samples[0]![0]).toFixed(1)} cy={y(samples[0]![1]).toFixed(1)} r="3" fill="currentColor" />
        ) : (
          <text className="tick" x={(L + W - R) / 2} y={(H - B) / 2 + T} textAnchor="middle">
            {idle ?? 'no samples yet'}
          </text>
        )}
      </svg>
    </figure>
  );
}
