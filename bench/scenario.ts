// A bench scenario: what `--only` calls it, how it runs (every run), and its rows of the table.
// bench/run.ts lists them; a new scenario is a file in bench/scenarios/ and a line there.
export type Row = readonly [string, string];

export interface Scenario<R = unknown> {
  /** The name `--only` takes, and the result's key in the JSON. */
  readonly key: string;
  run(): Promise<R>;
  /** `results`: the results of the scenarios run before it, by key, for ratios against them. */
  rows(result: R, results: Readonly<Record<string, unknown>>): Row[];
}

/** A scenario with its result type checked where it is written, kept in one list with the others. */
export const defineScenario = <R>(scenario: Scenario<R>): Scenario => scenario as Scenario;
