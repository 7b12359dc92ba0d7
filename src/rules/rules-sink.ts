// The rule files at the relay: in front of the router, so every input's batches go through them
// before hash routing. A batch the router refuses comes back unchanged once it has room: its
// outcome is kept, so the rules run once per batch however often it is offered, and what it
// dropped is counted once, when the rest was taken.
import type { BatchSink } from '../batch/batch.js';
import type { RuleOutcome } from './rule-engine.js';
import type { RuleFiles } from './rule-files.js';

export function createRulesSink(next: BatchSink, rules: RuleFiles): BatchSink {
  let refused: { readonly input: Buffer; readonly outcome: RuleOutcome } | undefined;
  return {
    offer(batch) {
      const outcome = refused?.input === batch.data ? refused.outcome : rules.current().apply(batch.data, '');
      refused = undefined;
      if (outcome.points > 0 && !next.offer({ data: outcome.data, points: outcome.points })) {
        refused = { input: batch.data, outcome };
        return false;
      }
      rules.record(outcome, 'relay');
      return true;
    },
    whenReady: (listener) => next.whenReady(listener),
    close: () => next.close(),
    destroy: () => next.destroy(),
  };
}
