// Go's time.ParseDuration: "300ms", "1.5h", "2h45m", "-1s", "0". Returns milliseconds.
const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  'μs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const PART = /([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)/y;

export function parseDuration(text: string): number | undefined {
  let s = text;
  let sign = 1;
  if (s[0] === '-' || s[0] === '+') {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return undefined;
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < s.length) {
    const start = PART.lastIndex;
    const m = PART.exec(s);
    if (!m || m.index !== start) return undefined;
    const num = m[1]!;
    if (num === '' || num === '.') return undefined;
    total += Number(num) * UNIT_MS[m[2]!]!;
  }
  return sign * total;
}

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
    const digits = String(fraction).padStart(String(scale).length - 1, '0').replace(/0+$/, '');
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
