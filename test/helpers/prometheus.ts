// A program's /metrics read with a real Prometheus text-format parser (parse-prometheus-text-format,
// prom2json's output shape), so a format error fails the test instead of being skipped over.
import { createRequire } from 'node:module';

interface Sample {
  readonly labels?: Record<string, string>;
  readonly value?: string;
  readonly buckets?: Record<string, string>;
  readonly count?: string;
  readonly sum?: string;
}

interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
  readonly metrics: readonly Sample[];
}

const parse = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => Family[];

export interface Scrape {
  readonly families: ReadonlyMap<string, Family>;
  /** Sum of a counter's or gauge's samples whose labels include `labels`; throws if the family is missing. */
  value(name: string, labels?: Record<string, string>): number;
  /** Every sample of a family, by its labels. */
  samples(name: string): readonly Sample[];
}

export async function scrape(statPort: number): Promise<Scrape> {
  const res = await fetch(`http://127.0.0.1:${statPort}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  const families = new Map(parse(await res.text()).map((f) => [f.name, f]));
  const samples = (name: string): readonly Sample[] => {
    const f = families.get(name);
    if (!f) throw new Error(`no metric ${name} in /metrics (have: ${[...families.keys()].join(', ')})`);
    return f.metrics;
  };
  return {
    families,
    samples,
    value: (name, labels = {}) =>
      samples(name)
        .filter((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v))
        .reduce((n, s) => n + Number(s.value), 0),
  };
}
