// Durations in log lines as the original's Go prints them (time.Duration.String()), for the
// lines operators' greps match; parsing durations from flags is config/duration.ts.

/** Go's time.Duration.String() of a duration in nanoseconds: "850ns", "1.5µs", "12.345678ms", "2m3.5s", "1h0m0s". */
export function formatGoDuration(ns: bigint): string {
  if (ns === 0n) return '0s';
  const sign = ns < 0n ? '-' : '';
  const u = ns < 0n ? -ns : ns;
  // A number of `scale` units with its fraction, trailing zeros trimmed as Go does.
  const fixed = (value: bigint, scale: bigint): string => {
    const whole = value / scale;
    const fraction = value % scale;
    if (fraction === 0n) return String(whole);
    const digits = String(fraction)
      .padStart(String(scale).length - 1, '0')
      .replace(/0+$/, '');
    return `${whole}.${digits}`;
  };
  if (u < 1000n) return `${sign}${u}ns`;
  if (u < 1_000_000n) return `${sign}${fixed(u, 1000n)}µs`;
  if (u < 1_000_000_000n) return `${sign}${fixed(u, 1_000_000n)}ms`;
  const hours = u / 3_600_000_000_000n;
  const minutes = (u / 60_000_000_000n) % 60n;
  const seconds = fixed(u % 60_000_000_000n, 1_000_000_000n);
  if (hours > 0n) return `${sign}${hours}h${minutes}m${seconds}s`;
  if (minutes > 0n) return `${sign}${minutes}m${seconds}s`;
  return `${sign}${seconds}s`;
}
