// The rule files at the relay: in front of the router, so every input's batches go through them
// before hash routing. What a batch dropped is counted once the rest was taken (a refused batch
// comes back and is counted then).
import type { BatchSink } from '../batch/batch.js';
import type { RuleFiles } from './rule-files.js';

export function createRulesSink(next: BatchSink, rules: RuleFiles): BatchSink {
  return {
    offer(batch) {
      const outcome = rules.current().apply(batch.data, '');
      if (outcome.points > 0 && !next.offer({ data: outcome.data, points: outcome.points })) return false;
      rules.record(outcome, 'relay');
      return true;
    },
    whenReady: (listener) => next.whenReady(listener),
    close: () => next.close(),
    destroy: () => next.destroy(),
  };
}
