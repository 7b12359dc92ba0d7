// The gateway's Prometheus series: what it received and accepted, what it refused and why, and the
// in-flight memory budget. The per-key series are the tenants' (src/tenants/accounting.ts).
import { INVALID_REASON_LABELS } from '../protocol/lines.js';
import type { Registry } from '../observe/metrics.js';
import type { InflightBudget } from './inflight-budget.js';

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;

export function createGatewayMetrics(registry: Registry, budget: InflightBudget) {
  const m = {
    bytes: registry.counter('polymur_bytes_received_total', 'Bytes of batches read, as sent (gzip or identity) and raw', [
      { encoding: 'gzip' },
      { encoding: 'identity' },
      { encoding: 'raw' },
    ]),
    authFailures: registry.counter('polymur_auth_failures_total', 'Requests with an unknown API key'),
    requests: registry.counter('polymur_requests_total', 'HTTP requests, by path and status code', []),
    invalid: registry.counter('polymur_points_invalid_total', 'Invalid data points dropped, by reason', INVALID_REASON_LABELS),
    full: registry.counter('polymur_batches_refused_total', 'Batches answered 503 because the destination queues were full'),
    busy: registry.counter('polymur_batches_busy_total', 'Batches answered 503 because the in-flight memory budget (-max-inflight-bytes) stayed full'),
    refused: registry.counter('polymur_connections_refused_total', 'Client connections refused over -max-connections'),
    refusedPerIp: registry.counter('polymur_connections_refused_per_ip_total', 'Client connections refused over -max-connections-per-ip'),
    duration: registry.histogram('polymur_request_duration_seconds', 'Duration of /ingest requests', [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]),
  };
  registry.gauge('polymur_inflight_bytes', 'Bytes held by /ingest requests being read, inflated and validated (-max-inflight-bytes)', () => budget.used());
  registry.gauge('polymur_inflight_collecting_bytes', 'Bytes /ingest requests dropped that the garbage collector has not freed yet, counted against -max-inflight-bytes', () =>
    budget.collecting(),
  );
  registry.gauge('polymur_inflight_limit_bytes', 'The in-flight memory budget, -max-inflight-bytes', () => budget.limit);
  registry.gauge('polymur_inflight_waiting_requests', '/ingest requests waiting for room in the in-flight budget', () => budget.waiting());
  return m;
}
