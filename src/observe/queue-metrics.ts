// Queue depth and limits in /metrics, the same six gauges on every program: the proxy's queue to
// the gateway (no labels) and each destination's queue on the gateway and the relay (`destination`).
import type { QueueDepth } from '../batch/batch.js';
import type { Labels, Registry } from './metrics.js';

export interface QueueFigures {
  readonly labels: Labels;
  readonly depth: QueueDepth;
  /** Infinity where the queue has no limit in that unit (rendered +Inf). */
  readonly limits: QueueDepth;
}

const UNITS = ['batches', 'bytes', 'points'] as const;

const WHAT: Record<(typeof UNITS)[number], string> = {
  batches: 'Batches',
  bytes: 'Bytes (as stored: gzip in the proxy memory queue, raw in a spool)',
  points: 'Data points',
};

export function registerQueueMetrics(registry: Registry, queues: () => readonly QueueFigures[]): void {
  for (const unit of UNITS) {
    registry.gauge(`polymur_queue_${unit}`, `${WHAT[unit]} held in the queue, taken but not yet acknowledged included`, () =>
      queues().map((q) => [q.labels, q.depth[unit]] as const),
    );
    registry.gauge(`polymur_queue_capacity_${unit}`, `${WHAT[unit]} the queue holds at most (+Inf: no limit in this unit)`, () =>
      queues().map((q) => [q.labels, q.limits[unit]] as const),
    );
  }
}
