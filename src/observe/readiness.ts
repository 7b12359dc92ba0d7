// Readiness, computed from the program's own state: somewhere to deliver to (a destination
// connected, or the gateway reached on the last attempt), the API keys loaded once, every queue
// able to store (no spool fault) and under 90 % of each of its limits. /readyz answers 503 with the
// reasons when any fails; load balancers stop sending while they last.
import type { BatchQueue, QueueDepth } from '../batch/batch.js';

/** What readiness reads of a queue. */
export type QueueView = Pick<BatchQueue, 'depth' | 'limits' | 'fault'>;

export interface ReadinessSources {
  /** The destinations the program routes to (gateway, relay). */
  readonly destinations?: () => ReadonlyArray<{ readonly id: string; readonly connected: boolean }>;
  /** The proxy: whether the last attempt to reach a gateway succeeded. */
  readonly gatewayUp?: () => boolean;
  /** The gateway: whether one load of the API keys has succeeded. */
  readonly keysLoaded?: () => boolean;
  /** Each queue with the words that name it in a reason ("queue to the gateway"). */
  readonly queues?: () => ReadonlyArray<readonly [name: string, queue: QueueView]>;
}

/** A queue over this share of any of its limits makes the program not ready. */
export const QUEUE_FULL_RATIO = 0.9;

const UNITS: ReadonlyArray<keyof QueueDepth> = ['batches', 'bytes', 'points'];

function queueReasons(name: string, queue: QueueView): string[] {
  const fault = queue.fault();
  const reasons = fault === undefined ? [] : [`${name} cannot store: ${fault}`];
  const depth = queue.depth();
  const limits = queue.limits();
  for (const unit of UNITS) {
    const limit = limits[unit];
    if (Number.isFinite(limit) && depth[unit] > QUEUE_FULL_RATIO * limit) {
      reasons.push(`${name} is ${Math.round((100 * depth[unit]) / limit)} % full (${depth[unit]} of ${limit} ${unit})`);
      break;
    }
  }
  return reasons;
}

/** Why the program is not ready; empty when it is. */
export function readinessReasons(sources: ReadinessSources): string[] {
  const reasons: string[] = [];
  if (sources.destinations) {
    const list = sources.destinations();
    if (list.length === 0) reasons.push('no destination registered');
    else if (!list.some((d) => d.connected)) reasons.push(`no destination is up (${list.map((d) => d.id).join(', ')} unreachable)`);
  }
  if (sources.gatewayUp && !sources.gatewayUp()) reasons.push('gateway not reached: the last attempt failed');
  if (sources.keysLoaded && !sources.keysLoaded()) reasons.push('API keys never loaded from the key store');
  for (const [name, queue] of sources.queues?.() ?? []) reasons.push(...queueReasons(name, queue));
  return reasons;
}
