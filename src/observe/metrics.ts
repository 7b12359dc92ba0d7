// A small metrics registry rendered in the Prometheus text format (version 0.0.4), checked by
// `promtool check metrics` in test/observe/prometheus.test.ts.
// Counters and gauges are plain numbers keyed by their label values, so incrementing one on a
// hot path is a Map lookup and an add, once per batch rather than per data point.
//
// Why ours and not prom-client: not speed. Both cost well under 1 % (the hot path increments a few
// counters per batch of thousands of points; the micro-benchmark is in bench/README.md).
// It is the shape: our stages register the same family from several places (the listener and the
// gateway both count `polymur_points_invalid_total`; every spool adds its own labelled collector to
// `polymur_spool_bytes`) and pass label sets at the call site, where prom-client wants one owner
// declaring every label name up front; switching rewrites every registration in src/ for no change
// on the wire. The prom-client default metrics that dashboards query are in process-metrics.ts
// under prom-client's names.

export type Labels = Readonly<Record<string, string>>;

type Kind = 'counter' | 'gauge' | 'histogram';

/** One series' value now, as /metrics shows it (and the status page reads it: the same numbers). */
export interface Sample {
  readonly name: string;
  readonly labels: Labels | undefined;
  readonly value: number;
}

interface Family {
  readonly name: string;
  readonly help: string;
  readonly kind: Kind;
  /** Counters and gauges: their series. */
  samples?(out: Sample[]): void;
  /** Families that are not a list of samples (a histogram's buckets). */
  render?(out: string[]): void;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labelText(labels: Labels | undefined): string {
  const parts: string[] = [];
  if (labels) for (const k of Object.keys(labels)) parts.push(`${k}="${escapeLabel(labels[k]!)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function keyOf(labels: Labels | undefined): string {
  return labels ? JSON.stringify(labels) : '';
}

function formatNumber(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

class Series {
  readonly values = new Map<string, { labels: Labels | undefined; value: number }>();
  get(labels: Labels | undefined): { labels: Labels | undefined; value: number } {
    const key = keyOf(labels);
    let s = this.values.get(key);
    if (!s) {
      s = { labels, value: 0 };
      this.values.set(key, s);
    }
    return s;
  }
}

export class Counter implements Family {
  readonly kind = 'counter' as const;
  private readonly series = new Series();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  /** Shows the series at 0 before its first event, so that `increase()` sees the first one. */
  declare(labels?: Labels): void {
    this.series.get(labels);
  }
  inc(by = 1, labels?: Labels): void {
    this.series.get(labels).value += by;
  }
  value(labels?: Labels): number {
    return this.series.values.get(keyOf(labels))?.value ?? 0;
  }
  samples(out: Sample[]): void {
    for (const s of this.series.values.values()) out.push({ name: this.name, labels: s.labels, value: s.value });
  }
}

export type GaugeCollector = () => number | ReadonlyArray<readonly [Labels, number]>;

/**
 * A gauge read at scrape time from collectors: what it shows is measured then, never a number
 * someone remembered to set. Each collector adds its own series: a stage registered once per
 * destination (a spool) passes its labels, and a number it returns is rendered under them.
 */
export class Gauge implements Family {
  readonly kind = 'gauge' as const;
  /** By the labels they were registered with: a later registration under the same labels replaces the earlier. */
  private readonly collectors = new Map<string, { labels: Labels | undefined; collect: GaugeCollector }>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  addCollector(collect: GaugeCollector, labels?: Labels): void {
    this.collectors.set(keyOf(labels), { labels, collect });
  }
  samples(out: Sample[]): void {
    for (const { labels, collect } of this.collectors.values()) {
      const v = collect();
      if (typeof v === 'number') out.push({ name: this.name, labels, value: v });
      else for (const [own, n] of v) out.push({ name: this.name, labels: labels ? { ...labels, ...own } : own, value: n });
    }
  }
}

/** A counter read at scrape time from what the process already counts (CPU time). */
class CollectedCounter implements Family {
  readonly kind = 'counter' as const;
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly collect: () => number,
  ) {}
  samples(out: Sample[]): void {
    out.push({ name: this.name, labels: undefined, value: this.collect() });
  }
}

/** Unlabelled: its buckets, sum and count are shown at 0 from the start. */
export class Histogram implements Family {
  readonly kind = 'histogram' as const;
  private readonly s: { counts: number[]; sum: number; count: number };
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {
    this.s = { counts: new Array<number>(buckets.length).fill(0), sum: 0, count: 0 };
  }
  observe(v: number): void {
    const s = this.s;
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]!) s.counts[i]!++;
    s.sum += v;
    s.count++;
  }
  render(out: string[]): void {
    const s = this.s;
    this.buckets.forEach((le, i) => out.push(`${this.name}_bucket{le="${formatNumber(le)}"} ${s.counts[i]}`));
    out.push(`${this.name}_bucket{le="+Inf"} ${s.count}`);
    out.push(`${this.name}_sum ${formatNumber(s.sum)}`);
    out.push(`${this.name}_count ${s.count}`);
  }
}

/**
 * One registry per process; every stage registers its metrics here by name (prefix `polymur_`). A
 * name registered again is the same metric family: the caller gets the family already there (its
 * series, told apart by their labels, are rendered together), and a gauge collector joins the others.
 */
export class Registry {
  private readonly families = new Map<string, Family>();

  private add<F extends Family>(name: string, kind: Kind, make: () => F): F {
    const existing = this.families.get(name);
    if (existing) {
      if (existing.kind !== kind) throw new Error(`metric ${name} registered twice with different kinds`);
      return existing as F;
    }
    const family = make();
    this.families.set(name, family);
    return family;
  }

  /**
   * Every counter is shown from the start at 0: unlabelled unless `known` lists the label sets it
   * will be incremented with (e.g. each reason); label values known only later (a destination
   * added at run time) are declared then with `declare()`.
   */
  counter(name: string, help: string, known: readonly Labels[] = [{}]): Counter {
    const counter = this.add(name, 'counter', () => new Counter(name, help));
    for (const labels of known) counter.declare(Object.keys(labels).length ? labels : undefined);
    return counter;
  }

  /** A counter whose value is read at scrape time. */
  collectedCounter(name: string, help: string, collect: () => number): void {
    this.add(name, 'counter', () => new CollectedCounter(name, help, collect));
  }

  /** `labels` are those of the collector's series (its number, or added to each of its pairs). */
  gauge(name: string, help: string, collect?: GaugeCollector, labels?: Labels): Gauge {
    const gauge = this.add(name, 'gauge', () => new Gauge(name, help));
    if (collect) gauge.addCollector(collect, labels);
    return gauge;
  }

  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    return this.add(name, 'histogram', () => new Histogram(name, help, buckets));
  }

  /** The Prometheus text exposition of every registered metric. */
  render(): string {
    const out: string[] = [];
    const samples: Sample[] = [];
    for (const f of this.families.values()) {
      out.push(`# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`);
      out.push(`# TYPE ${f.name} ${f.kind}`);
      if (f.samples) {
        samples.length = 0;
        f.samples(samples);
        for (const s of samples) out.push(`${s.name}${labelText(s.labels)} ${formatNumber(s.value)}`);
      } else {
        f.render?.(out);
      }
    }
    return out.join('\n') + '\n';
  }

  /** The names registered, in order. */
  familyNames(): string[] {
    return [...this.families.keys()];
  }

  /** One counter's or gauge's series now; none for a name not registered (or a histogram). */
  samplesOf(name: string): Sample[] {
    const out: Sample[] = [];
    this.families.get(name)?.samples?.(out);
    return out;
  }
}
