// The rule files at the gateway: each validated slice of a batch goes through the rules, the key's
// name joined to each name between [pre] and [post] (instead of by validation), all slices under
// the rules that were current when the batch began.
import type { FilterResult, InvalidReason } from '../protocol/lines.js';
import { filterLinesInSlices } from './validate-slices.js';
import type { RuleDropReason } from '../rules/name-rules.js';
import type { RuleOutcome } from '../rules/rule-engine.js';
import type { RuleFiles } from '../rules/rule-files.js';

export async function validateWithRules(
  rules: RuleFiles,
  body: Buffer,
  prefix: string,
  onInvalid: (line: Buffer, reason: InvalidReason) => void,
  maxLineBytes: number,
): Promise<{ readonly lines: FilterResult; readonly outcome: RuleOutcome }> {
  const engine = rules.current();
  const dropped = new Map<RuleDropReason, number>();
  let renamed = 0;
  let firstDrop: string | undefined;
  const lines = await filterLinesInSlices(body, undefined, onInvalid, maxLineBytes, (slice) => {
    const o = engine.apply(slice.data, prefix);
    for (const [reason, n] of o.dropped) dropped.set(reason, (dropped.get(reason) ?? 0) + n);
    renamed += o.renamed;
    firstDrop ??= o.firstDrop;
    return { data: o.data, points: o.points, invalid: slice.invalid };
  });
  const counts = { data: lines.data, points: lines.points, renamed, dropped };
  return { lines, outcome: firstDrop === undefined ? counts : { ...counts, firstDrop } };
}
