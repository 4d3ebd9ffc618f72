export function Progress({ label, value }: { label: string; value: number }) {
  return (
    <div className="progress" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={value}>
      <div className="bar" style={{ width: `${value}%` }} />
      <span className="pct">
        <span>{value}%</span>
      </span>
    </div>
  );
}
