// The rule files at the relay: in front of the router, handing it their own pass over each
// batch's lines, so a line is renamed or dropped and placed on its destinations (hash-route, or
// every one in broadcast) in one step (rule-engine.ts split()). A batch the router refuses comes
// back unchanged once it has room and is placed again then, its names answered from the verdict
// cache; what the rules did to it is counted once, when it was taken.
import type { BatchSink } from '../batch/batch.js';
import type { SplitSink } from '../route/split.js';
import type { RuleSplit } from './rule-engine.js';
import type { RuleFiles } from './rule-files.js';

export function createRulesSink(next: SplitSink, rules: RuleFiles): BatchSink {
  return {
    offer(batch) {
      // One engine for the whole batch, even when a reload comes in meanwhile.
      const engine = rules.current();
      let outcome: RuleSplit | undefined;
      const taken = next.offerSplit(batch, (data, ring, replication) => (outcome = engine.split(data, '', ring, replication)));
      if (taken && outcome !== undefined) rules.record(outcome, 'relay');
      return taken;
    },
    whenReady: (listener) => next.whenReady(listener),
    close: () => next.close(),
    destroy: () => next.destroy(),
  };
}
