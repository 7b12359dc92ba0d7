// What the status page plots and the rates it shows, sampled from the registry once a second (the
// same series /metrics serves): points in and out over the last 15 minutes, and the last second's
// rate of each destination and each key. The page draws from this, so a page opened at 3 a.m.
// shows the quarter hour before it was opened.
import type { Labels, Registry, Sample } from '../metrics.js';

export const HISTORY_SECONDS = 15 * 60;
export const SAMPLE_INTERVAL_MS = 1000;

/** The families the page reads, the same on every program. */
export const SERIES = {
  pointsIn: 'polymur_points_received_total',
  pointsOut: 'polymur_points_written_total',
  destinationUp: 'polymur_destination_up',
  queuePoints: 'polymur_queue_points',
} as const;

/** A destination that is connected but wrote nothing with points waiting this long is "stuck". */
export const STUCK_AFTER_SAMPLES = 3;

export interface History {
  /** Epoch seconds of each sample, oldest first. */
  readonly times: readonly number[];
  /** Points per second in and out over each sample's interval (null before the second sample). */
  readonly pointsIn: readonly (number | null)[];
  readonly pointsOut: readonly (number | null)[];
}

export interface StatusSampler {
  history(): History;
  /** Points per second over the last interval, of each value of a label of a counter (`destination`, `key`). */
  rates(family: string, label: string): ReadonlyMap<string, number>;
  /** Destinations connected that wrote nothing for STUCK_AFTER_SAMPLES samples with points queued. */
  stuck(): ReadonlySet<string>;
  /** Takes a sample now (the timer calls it; tests call it on their own clock). */
  sample(): void;
  stop(): void;
}

const sum = (samples: readonly Sample[]): number => samples.reduce((n, s) => n + s.value, 0);

function byLabel(samples: readonly Sample[], label: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of samples) {
    const v = (s.labels as Labels | undefined)?.[label];
    if (v !== undefined) out.set(v, (out.get(v) ?? 0) + s.value);
  }
  return out;
}

export function createStatusSampler(registry: Registry, opts: { now?: () => number; intervalMs?: number; timer?: boolean } = {}): StatusSampler {
  const now = opts.now ?? Date.now;
  const times: number[] = [];
  const pointsIn: (number | null)[] = [];
  const pointsOut: (number | null)[] = [];
  let last: { at: number; in: number; out: number } | undefined;
  // Per label value of the families asked for: the value at the previous and the last sample.
  const labelled = new Map<string, { prev: Map<string, number>; cur: Map<string, number>; seconds: number }>();
  const idleSamples = new Map<string, number>();

  const sample = (): void => {
    const at = now();
    const inTotal = sum(registry.samplesOf(SERIES.pointsIn));
    const outTotal = sum(registry.samplesOf(SERIES.pointsOut));
    const seconds = last ? (at - last.at) / 1000 : 0;
    times.push(Math.round(at / 1000));
    pointsIn.push(last && seconds > 0 ? Math.max(0, (inTotal - last.in) / seconds) : null);
    pointsOut.push(last && seconds > 0 ? Math.max(0, (outTotal - last.out) / seconds) : null);
    if (times.length > HISTORY_SECONDS) {
      times.shift();
      pointsIn.shift();
      pointsOut.shift();
    }
    last = { at, in: inTotal, out: outTotal };
    for (const [key, entry] of labelled) {
      const [family, label] = key.split('\0') as [string, string];
      entry.prev = entry.cur;
      entry.cur = byLabel(registry.samplesOf(family), label);
      entry.seconds = seconds;
    }
    // Stuck: up, points queued, nothing written since the sample before.
    const up = byLabel(registry.samplesOf(SERIES.destinationUp), 'destination');
    const queued = byLabel(registry.samplesOf(SERIES.queuePoints), 'destination');
    const written = rates(SERIES.pointsOut, 'destination');
    for (const [destination, isUp] of up) {
      const idle = isUp === 1 && (queued.get(destination) ?? 0) > 0 && (written.get(destination) ?? 0) === 0;
      idleSamples.set(destination, idle ? (idleSamples.get(destination) ?? 0) + 1 : 0);
    }
  };

  function rates(family: string, label: string): Map<string, number> {
    const key = `${family}\0${label}`;
    let entry = labelled.get(key);
    if (!entry) {
      // First asked: known from the next sample on.
      const cur = byLabel(registry.samplesOf(family), label);
      entry = { prev: cur, cur, seconds: 0 };
      labelled.set(key, entry);
    }
    const out = new Map<string, number>();
    for (const [value, n] of entry.cur) out.set(value, entry.seconds > 0 ? Math.max(0, (n - (entry.prev.get(value) ?? n)) / entry.seconds) : 0);
    return out;
  }

  const failures = registry.counter('polymur_status_sample_errors_total', 'Status page samples that failed (a metric collector threw)');
  const timer =
    opts.timer === false
      ? undefined
      : setInterval(() => {
          try {
            sample();
          } catch {
            // A collector that throws must not stop the page's clock.
            failures.inc();
          }
        }, opts.intervalMs ?? SAMPLE_INTERVAL_MS);
  timer?.unref();

  return {
    history: () => ({ times: [...times], pointsIn: [...pointsIn], pointsOut: [...pointsOut] }),
    rates,
    stuck: () => new Set([...idleSamples].filter(([, n]) => n >= STUCK_AFTER_SAMPLES).map(([d]) => d)),
    sample,
    stop: () => timer && clearInterval(timer),
  };
}
