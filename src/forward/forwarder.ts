// The proxy's senders: `workers` loops that take a batch from the queue, gzip it once (unless it
// was compressed on its way into the queue), and POST it
// until a gateway acknowledges it. Failures are retried with backoff and full jitter (Retry-After
// is a floor), moving to the next gateway of the list; a batch leaves the queue only when it was
// delivered or, rejected as malformed, written to the dead-letter file.
import { appendFile } from 'node:fs/promises';
import type { BatchQueue, Lease } from '../batch/batch.js';
import type { Stage } from '../lifecycle/stage.js';
import type { Registry } from '../observe/metrics.js';
import { backoffDelay } from './backoff.js';
import { createGatewaySelector } from './gateway-selector.js';
import { gunzip, gzip } from './gzip.js';
import type { SendOutcome } from './outcome.js';
import { createGatewayTransport, type GatewayTransport } from './transport.js';


/**
 * close(): deliver what the queue holds until it is closed and empty (its owner closes it first;
 * the caller bounds the wait); destroy(): abort requests and waits now, leaving what was not
 * acknowledged in the queue.
 */
export interface Forwarder extends Stage {
  start(): Promise<void>;
  /** Whether the last attempt to reach a gateway (a ping or a batch) got an answer that was not a failure. */
  gatewayUp(): boolean;
  /** Data points in the queue not acknowledged by a gateway. */
  undelivered(): number;
}

export interface ForwarderOptions {
  readonly queue: BatchQueue;
  readonly gateways: readonly string[];
  readonly apiKey: string;
  readonly ca?: Buffer;
  readonly workers: number;
  /** Queued batches are joined into one request of up to this many points. */
  readonly batchSize?: number;
  readonly timeoutMs: number;
  readonly maxRetryDelayMs?: number;
  readonly deadLetterPath: string;
  readonly verbose: boolean;
  readonly metrics: Registry;
  readonly log: (m: string) => void;
  readonly random?: () => number;
  /** A wrong key at start is a configuration error: the program exits with this message. */
  readonly onFatal: (message: string) => void;
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

export function createForwarder(opts: ForwarderOptions): Forwarder {
  const transports: GatewayTransport[] = opts.gateways.map((url) =>
    createGatewayTransport({ url, apiKey: opts.apiKey, ...(opts.ca ? { ca: opts.ca } : {}), timeoutMs: opts.timeoutMs, connections: opts.workers }),
  );
  const random = opts.random ?? Math.random;
  const capMs = opts.maxRetryDelayMs ?? 30_000;
  const selector = createGatewaySelector(transports.length, { capMs, random });
  const m = {
    batches: opts.metrics.counter('polymur_batches_sent_total', 'Batches acknowledged by a gateway'),
    points: opts.metrics.counter('polymur_points_sent_total', 'Data points acknowledged by a gateway'),
    bytes: opts.metrics.counter('polymur_bytes_sent_total', 'Bytes of acknowledged batches, compressed (gzip) and raw'),
    failures: opts.metrics.counter('polymur_send_failures_total', 'Failed attempts to send a batch, by reason'),
    duration: opts.metrics.histogram('polymur_request_duration_seconds', 'Duration of /ingest requests', [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]),
    deadLetter: opts.metrics.counter('polymur_dead_letter_points_total', 'Data points written to the dead-letter file'),
  };
  // Aborted by destroy(): in-flight requests and waits end at once.
  const hardStop = new AbortController();
  const running: Promise<void>[] = [];
  let closing: Promise<void> | undefined;
  let lastAttemptOk = false;

  /** One /ping; true when the answer is final (accepted, or the key refused). */
  const pingOnce = async (transport: GatewayTransport): Promise<boolean> => {
    opts.log(`Pinging gateway ${transport.url}`);
    const r = await transport.ping();
    lastAttemptOk = r.ok;
    if (r.ok) {
      opts.log(`Connection to gateway ${transport.url} successful`);
      return true;
    }
    if (r.fatal) {
      opts.onFatal(`Gateway ${transport.url} refused the API key: ${r.message}`);
      return true;
    }
    opts.log(`Gateway ${transport.url} unreachable (${r.message}); data is queued meanwhile`);
    return false;
  };

  /** Pings again in the background, with backoff, until the gateway answers. */
  const pingInBackground = async (transport: GatewayTransport): Promise<void> => {
    for (let attempt = 1; !hardStop.signal.aborted; attempt++) {
      await abortableSleep(Math.max(1000, backoffDelay(attempt, { baseMs: 1000, capMs, random })), hardStop.signal);
      if (hardStop.signal.aborted || (await pingOnce(transport))) return;
    }
  };

  const deadLetter = async (lease: Lease, reason: string): Promise<void> => {
    const { batch } = lease;
    const head = `# ${new Date().toISOString()} rejected by the gateway (${reason}): ${batch.points} data points\n`;
    // The file is for people: the lines as they were read.
    const lines = batch.rawBytes === undefined ? batch.data : await gunzip(batch.data);
    await appendFile(opts.deadLetterPath, Buffer.concat([Buffer.from(head), lines]));
    m.deadLetter.inc(lease.batch.points);
    opts.log(`Batch of ${lease.batch.points} data points rejected by the gateway (${reason}); written to ${opts.deadLetterPath}`);
  };

  /** Joins batches already waiting in the queue to the first, up to batchSize points. */
  const gather = (first: Lease): Lease => {
    const leases = [first];
    let points = first.batch.points;
    const limit = opts.batchSize ?? 0;
    while (points < limit) {
      const next = opts.queue.takeNow();
      if (!next) break;
      leases.push(next);
      points += next.batch.points;
    }
    if (leases.length === 1) return first;
    // Gzip members joined are one valid gzip stream (RFC 1952), read whole by our gateway and Go's.
    const rawBytes = first.batch.rawBytes === undefined ? undefined : leases.reduce((sum, l) => sum + (l.batch.rawBytes ?? 0), 0);
    return {
      batch: { data: Buffer.concat(leases.map((l) => l.batch.data)), points, ...(rawBytes === undefined ? {} : { rawBytes }) },
      ack: () => leases.forEach((l) => l.ack()),
    };
  };

  /** The next batch (joined with those waiting) and its gzip body; undefined once the queue is closed and empty. */
  const prepare = async (): Promise<{ lease: Lease; body: Buffer } | undefined> => {
    const taken = await opts.queue.take();
    if (!taken) return undefined;
    const lease = gather(taken);
    const { batch } = lease;
    // Batches of the in-memory queue were compressed on their way in; spooled ones are raw.
    const body = batch.rawBytes === undefined ? await gzip(batch.data) : batch.data;
    return { lease, body };
  };

  /** Sends one compressed batch until it is delivered, dead-lettered, or the hard stop comes. */
  const deliver = async (worker: number, lease: Lease, body: Buffer): Promise<void> => {
    const { batch } = lease;
    for (let attempt = 1; !hardStop.signal.aborted; attempt++) {
      const index = selector.pick();
      const transport = transports[index]!;
      if (opts.verbose) opts.log(`[worker #${worker}] sending batch (${batch.points} data points)`);
      const started = process.hrtime.bigint();
      const outcome: SendOutcome = await transport.post(body, hardStop.signal);
      m.duration.observe(Number(process.hrtime.bigint() - started) / 1e9);
      lastAttemptOk = outcome.kind === 'success' || outcome.kind === 'rejected';
      switch (outcome.kind) {
        case 'success':
          selector.succeeded(index);
          if (opts.verbose) opts.log(`[worker #${worker}] [gateway] Batch Received`);
          m.batches.inc();
          m.points.inc(batch.points);
          m.bytes.inc(body.length, { encoding: 'gzip' });
          m.bytes.inc(batch.rawBytes ?? batch.data.length, { encoding: 'raw' });
          lease.ack();
          return;
        case 'rejected':
          await deadLetter(lease, outcome.reason);
          lease.ack();
          return;
        case 'unauthorized':
          m.failures.inc(1, { reason: 'unauthorized' });
          // A revoked key may be restored: retry at the slowest pace, -max-retry-delay.
          opts.log(`[worker #${worker}] GATEWAY ${transport.url} REFUSES THE API KEY (${outcome.reason}): keeping ${batch.points} data points, retrying in ${capMs / 1000}s`);
          await abortableSleep(capMs, hardStop.signal);
          break;
        case 'retryable': {
          m.failures.inc(1, { reason: outcome.reason.startsWith('HTTP') ? outcome.reason.slice(0, 8) : outcome.reason.split(':')[0]! });
          const wait = selector.failed(index, outcome.afterMs);
          opts.log(`[worker #${worker}] sending to ${transport.url} failed (${outcome.reason}); retry ${attempt} in ${(wait / 1000).toFixed(2)}s`);
          await abortableSleep(wait, hardStop.signal);
          break;
        }
      }
    }
  };

  // Each worker prepares its next batch while its request is in flight, so a spooled batch's gzip
  // (off the event loop) overlaps the round trip instead of adding to it. Still one request per
  // worker; a batch in hand at the hard stop is not acknowledged, so it counts as undelivered (or
  // stays spooled).
  const work = async (worker: number): Promise<void> => {
    opts.log(`HTTP writer #${worker} started`);
    let next = prepare();
    for (;;) {
      const item = await next;
      if (!item || hardStop.signal.aborted) return;
      next = prepare();
      await deliver(worker, item.lease, item.body);
      if (hardStop.signal.aborted) return;
    }
  };

  return {
    async start() {
      const first = transports[0]!;
      if (!(await pingOnce(first))) void pingInBackground(first);
      for (let i = 0; i < opts.workers; i++) running.push(work(i));
    },
    gatewayUp: () => lastAttemptOk,
    close() {
      closing ??= (async () => {
        await Promise.all(running);
        hardStop.abort();
        await Promise.all(transports.map((t) => t.close()));
      })();
      return closing;
    },
    destroy() {
      hardStop.abort();
      for (const t of transports) void t.close();
    },
    undelivered: () => opts.queue.depth().points,
  };
}

/** -console-out: batches printed to stdout instead of sent; no gateway, no ping. */
export function createConsoleForwarder(opts: { queue: BatchQueue; out?: NodeJS.WritableStream }): Forwarder {
  const out = opts.out ?? process.stdout;
  let running: Promise<void> | undefined;
  return {
    async start() {
      running = (async () => {
        for (let lease = await opts.queue.take(); lease; lease = await opts.queue.take()) {
          const taken = lease;
          await new Promise<void>((resolve) => out.write(taken.batch.data, () => resolve()));
          taken.ack();
        }
      })();
    },
    // Standard output is always there to write to.
    gatewayUp: () => true,
    async close() {
      await running;
    },
    // Printing to stdout cannot be aborted; what is not printed stays counted in the queue.
    destroy: () => undefined,
    undelivered: () => opts.queue.depth().points,
  };
}
