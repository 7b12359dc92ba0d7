// POST /ingest: the key checked, the body read up to -max-body-bytes and inflated up to
// -max-batch-bytes within the in-flight budget (body.ts, inflight-budget.ts), every line validated
// (validate-slices.ts), and the batch offered to the sink: 200 once the destinations' queues took
// it, 503 + Retry-After when they are full or the budget stayed full.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BatchSink } from '../batch/batch.js';
import { MAX_LINE_BYTES, type InvalidReason } from '../protocol/lines.js';
import type { Authenticate } from './authenticate.js';
import { BodyTooLarge, readBody } from './body.js';
import type { GatewayMetrics } from './gateway-metrics.js';
import { BudgetExhausted, type InflightBudget, type Lease } from './inflight-budget.js';
import { RETRY_AFTER_SECONDS, type Reply } from './reply.js';
import { filterLinesInSlices } from './validate-slices.js';
import type { TenantGate } from '../tenants/gate.js';
import { validateWithRules } from './validate-with-rules.js';
import type { RuleFiles } from '../rules/rule-files.js';

/** How long the rest of a refused body is read and dropped before the connection is cut. */
const REFUSED_BODY_LINGER_MS = 1000;

export interface IngestOptions {
  readonly sink: BatchSink;
  /** Per-key accounting, rate (429), names ceiling and namespace. */
  readonly tenants: TenantGate;
  readonly keyPrefix: boolean;
  readonly rules?: RuleFiles | undefined;
  readonly maxBodyBytes: number;
  readonly maxBatchBytes: number;
  readonly budget: InflightBudget;
  /** How long a request waits for room in the budget before it is answered 503. */
  readonly budgetWaitMs: number;
  readonly authenticate: Authenticate;
  readonly reply: Reply;
  readonly metrics: GatewayMetrics;
  readonly clientName: (req: IncomingMessage) => string;
  /** The rate-limited log of refused clients and invalid data points. */
  readonly invalidLog: (m: string) => void;
  readonly log: (m: string) => void;
  readonly onReceived?: ((points: number) => void) | undefined;
  /** -verbose: the original's line per accepted batch. */
  readonly logBatches?: boolean | undefined;
}

export type Ingest = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** How long an /ingest answer waits for the spool to write what it took. */
const WRITTEN_DEADLINE_MS = 5_000;

/** Whether `p` settles within `ms`. */
async function settlesWithin(p: Promise<void>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
    timer.unref();
  });
  try {
    return await Promise.race([p.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}

export function createIngest(opts: IngestOptions): Ingest {
  const { reply, metrics: m, clientName, invalidLog, maxBodyBytes } = opts;
  const limits = { maxBodyBytes, maxBatchBytes: opts.maxBatchBytes };

  /**
   * 413, 400 or 503 (no room in the in-flight budget) while the client may still be sending.
   * Closing at once would reset the connection under the bytes in flight and the client would
   * never read the answer; so the rest is read and dropped (never inflated, never kept) for a
   * moment, then an unfinished request is cut off.
   */
  const refuseBody = (req: IncomingMessage, res: ServerResponse, status: 400 | 413 | 503): void => {
    if (status === 503) reply(res, '/ingest', 503, 'Gateway busy, retry later\n', { 'retry-after': RETRY_AFTER_SECONDS });
    else reply(res, '/ingest', status, status === 413 ? 'Batch Too Large\n' : 'Batch Malformed\n');
    if (req.complete) return;
    setTimeout(() => {
      if (!req.complete) req.socket.destroy();
    }, REFUSED_BODY_LINGER_MS).unref();
  };

  const ingestWithin = async (req: IncomingMessage, res: ServerResponse, lease: Lease): Promise<void> => {
    const started = process.hrtime.bigint();
    const name = opts.authenticate(req, res, '/ingest');
    if (name === undefined) return void req.resume();
    const tenant = opts.tenants.entry(name);
    res.once('finish', () => tenant.request(res.statusCode));
    const encoding = (req.headers['content-encoding'] ?? 'gzip').toLowerCase();
    if (encoding !== 'gzip' && encoding !== 'identity') {
      req.resume();
      return reply(res, '/ingest', 415, `unsupported Content-Encoding ${encoding}\n`);
    }
    if (Number(req.headers['content-length'] ?? 0) > maxBodyBytes) {
      req.resume();
      return refuseBody(req, res, 413);
    }
    const gzip = encoding === 'gzip';
    let body: Buffer;
    try {
      const read = await readBody(req, gzip, limits, { lease, waitMs: opts.budgetWaitMs });
      body = read.data;
      m.bytes.inc(read.received, { encoding });
      m.bytes.inc(body.length, { encoding: 'raw' });
      tenant.bytes(read.received, body.length);
    } catch (err) {
      if (err instanceof BodyTooLarge) return refuseBody(req, res, 413);
      if (req.socket.destroyed) return;
      if (err instanceof BudgetExhausted) {
        m.busy.inc();
        invalidLog(`[client ${clientName(req)}] batch from ${name} refused: ${err.message}`);
        return refuseBody(req, res, 503);
      }
      return refuseBody(req, res, 400);
    }
    const prefix = opts.keyPrefix ? Buffer.from(`${name}.`) : undefined;
    const onInvalid = (line: Buffer, reason: InvalidReason): void => {
      m.invalid.inc(1, { reason });
      tenant.rejected(reason, 1);
      invalidLog(`[client ${clientName(req)}] invalid data point from ${name} dropped (${reason}): ${JSON.stringify(line.subarray(0, 200).toString('latin1'))}`);
    };
    const ruled = opts.rules ? await validateWithRules(opts.rules, body, opts.keyPrefix ? `${name}.` : '', onInvalid, MAX_LINE_BYTES) : undefined;
    const lines = ruled?.lines ?? (await filterLinesInSlices(body, prefix, onInvalid, MAX_LINE_BYTES));
    // A validated copy (a prefix, a dropped line) is held too until the destinations take it.
    if (lines.data.buffer !== body.buffer) lease.add(lines.data.length);
    const verdict = await opts.tenants.judge(name, lines.data, prefix?.length ?? 0);
    if (verdict.kind === 'throttled') {
      return reply(res, '/ingest', 429, "Over the key's rate, retry later\n", { 'retry-after': String(verdict.retryAfterSeconds) });
    }
    if (verdict.data.buffer !== lines.data.buffer) lease.add(verdict.data.length);
    if (verdict.points > 0 && !opts.sink.offer({ data: verdict.data, points: verdict.points })) {
      opts.tenants.undelivered(name, verdict);
      m.full.inc();
      return reply(res, '/ingest', 503, 'Destination queues full, retry later\n', { 'retry-after': RETRY_AFTER_SECONDS });
    }
    // A spool appends off the event loop: 200 only once the batch is on its disk, so that a gateway
    // killed right after answering has lost nothing it took. A disk slower than the deadline gets a
    // 503: the proxy sends the batch again (a duplicate at worst; the spool still writes this copy).
    if (verdict.points > 0 && opts.sink.written && !(await settlesWithin(opts.sink.written(), WRITTEN_DEADLINE_MS))) {
      m.full.inc();
      return reply(res, '/ingest', 503, 'Spool not written in time, retry later\n', { 'retry-after': RETRY_AFTER_SECONDS });
    }
    if (ruled) opts.rules?.record(ruled.outcome, `[client ${clientName(req)}] batch from ${name}`);
    opts.tenants.delivered(name, verdict);
    opts.onReceived?.(verdict.points);
    // The original's wording, its spelling included: log scrapers match it.
    if (opts.logBatches) opts.log(`[client ${clientName(req)}] Recieved batch from from ${name}`);
    m.duration.observe(Number(process.hrtime.bigint() - started) / 1e9);
    reply(res, '/ingest', 200, 'Batch Received\n');
  };

  /** An /ingest request with its share of the in-flight budget, given back however the request ends. */
  return async (req, res) => {
    const lease = opts.budget.lease();
    try {
      await ingestWithin(req, res, lease);
    } finally {
      lease.release();
    }
  };
}
