// The proxy's senders: `workers` loops that take a batch from the queue, gzip it once (unless it
// was compressed on its way into the queue), and POST it until a gateway acknowledges it.
// Failures are retried with backoff and full jitter (Retry-After is a floor), moving to the next
// gateway of the list; a batch leaves the queue only when it was delivered or, rejected as
// malformed, written to the dead-letter file. The gateway is pinged in the background: nothing
// waits for it, so the listener opens at once and what arrives is queued meanwhile. An
// unexpected exception in a loop is counted and logged, the batch in hand is kept and tried
// again, and the loop goes on.
import { setMaxListeners } from 'node:events';
import type { Batch, BatchQueue, Lease } from '../batch/batch.js';
import type { Stage } from '../lifecycle/stage.js';
import { formatGoDuration } from '../observe/go-duration.js';
import { rateLimitedLog } from '../observe/log.js';
import type { Registry } from '../observe/metrics.js';
import { backoffDelay } from './backoff.js';
import { DeadLetterWriteError, type DeadLetter } from './dead-letter.js';
import { createGatewaySelector } from './gateway-selector.js';
import { gunzip, gzip } from './gzip.js';
import type { SendOutcome } from './outcome.js';
import { createGatewayTransport, type GatewayTransport } from './transport.js';

/**
 * close() resolves once the queue (closed by its owner) is empty and every batch taken is delivered
 * or dead-lettered; destroy() aborts the requests in flight and every wait, a hanging ping too.
 */
export interface Forwarder extends Stage {
  /** Starts the workers and the first ping; returns at once (the ping goes on in the background). */
  start(): void;
  /** Data points not delivered yet: the queue's depth, batches in flight included. */
  undelivered(): number;
  /** Whether the last attempt to reach a gateway (a ping or a batch) got an answer that was not a failure. */
  gatewayUp(): boolean;
}

/** The forwarder to real gateways: its key and CA can change while it runs (SIGHUP). */
export interface GatewayForwarder extends Forwarder {
  /** Every gateway's requests from now on (see GatewayTransport.setCredentials). */
  setCredentials(credentials: { apiKey: string; ca?: Buffer }): void;
}

export interface ForwarderOptions {
  readonly queue: BatchQueue;
  readonly gateways: readonly string[];
  readonly apiKey: string;
  readonly ca?: Buffer;
  /** The forward proxy each gateway is reached through; a gateway not in it is reached directly. */
  readonly proxies?: ReadonlyMap<string, URL>;
  readonly workers: number;
  /** Queued batches are joined into one request of up to this many points. */
  readonly batchSize?: number;
  readonly timeoutMs: number;
  readonly maxRetryDelayMs?: number;
  readonly deadLetter: DeadLetter;
  readonly verbose: boolean;
  readonly metrics: Registry;
  readonly log: (m: string) => void;
  readonly random?: () => number;
  /** A wrong key at start is a configuration error: the program exits with this message. */
  readonly onFatal: (message: string) => void;
  /**
   * A batch got a 401: may look for a new key (reread-on-refusal.ts) and hand it over through
   * setCredentials before it resolves; the batch is then sent again at once with the new key.
   */
  readonly onUnauthorized?: (signal: AbortSignal) => Promise<void>;
}

/** The shortest pause before a loop tries again after an unexpected failure. */
const MIN_PAUSE_MS = 100;

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    // Referenced on purpose: a batch waiting for its retry is work; during shutdown it may be the
    // only thing that keeps the process from ending before the batch is delivered or reported.
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

/** Resolves with `p`'s value, or with undefined as soon as the signal is aborted. */
function unlessAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/** An error in one log line: its name, message and where it was thrown. */
function describeFailure(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const where = err.stack
    ?.split('\n')
    .find((l) => l.trimStart().startsWith('at '))
    ?.trim();
  return `${err.name}: ${err.message}${where ? ` (${where})` : ''}`;
}

/** A result that is a value, never a rejection, so it can wait unobserved while a worker is busy. */
type Settled<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

function settle<T>(p: Promise<T>): Promise<Settled<T>> {
  return p.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error }),
  );
}

/** A batch taken from the queue and its request body, compressing. */
interface Prepared {
  readonly lease: Lease;
  readonly body: Promise<Settled<Buffer>>;
}

export function createForwarder(opts: ForwarderOptions): GatewayForwarder {
  const transports: GatewayTransport[] = opts.gateways.map((url) => {
    const proxy = opts.proxies?.get(url);
    return createGatewayTransport({
      url,
      apiKey: opts.apiKey,
      ...(opts.ca ? { ca: opts.ca } : {}),
      ...(proxy ? { proxy } : {}),
      timeoutMs: opts.timeoutMs,
      connections: opts.workers,
    });
  });
  const random = opts.random ?? Math.random;
  const capMs = opts.maxRetryDelayMs ?? 30_000;
  const selector = createGatewaySelector(transports.length, { capMs, random });
  const m = {
    batches: opts.metrics.counter('polymur_batches_written_total', 'Batches written to the next hop (acknowledged by a gateway)'),
    points: opts.metrics.counter('polymur_points_written_total', 'Data points written to the next hop (acknowledged by a gateway)'),
    bytes: opts.metrics.counter('polymur_bytes_written_total', 'Bytes of batches acknowledged by a gateway, compressed (gzip) and raw', [
      { encoding: 'gzip' },
      { encoding: 'raw' },
    ]),
    failures: opts.metrics.counter('polymur_send_failures_total', 'Failed attempts to send a batch, by reason', [{ reason: 'unauthorized' }]),
    duration: opts.metrics.histogram('polymur_send_duration_seconds', 'Duration of /ingest requests to a gateway', [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]),
    deadLetterErrors: opts.metrics.counter('polymur_dead_letter_write_errors_total', 'Failed appends to the dead-letter file (the batch is kept and written again)'),
    loopErrors: opts.metrics.counter('polymur_worker_errors_total', 'Unexpected exceptions caught in the forwarder loops (the batch is kept and tried again), by loop', [
      { loop: 'sender' },
      { loop: 'ping' },
    ]),
  };
  const deadLetterLog = rateLimitedLog(opts.log);
  const loopErrorLog = rateLimitedLog(opts.log);
  // Aborted by destroy(), or by close() once the workers are done: every request and wait ends.
  const stop = new AbortController();
  // Each worker waits on it for a request, a pause and its next batch; the pinger for its ping.
  setMaxListeners(opts.workers * 4 + 4, stop.signal);
  const running: Promise<void>[] = [];
  let closing: Promise<void> | undefined;
  let destroyed = false;
  let up = false;
  // Counts setCredentials calls: a batch refused with older credentials than the current ones is sent again at once.
  let credentials = 0;

  /** What no branch of a loop expected (a bug, a queue that failed): counted, logged, survived. */
  const loopFailed = (loop: 'sender' | 'ping', who: string, err: unknown): void => {
    m.loopErrors.inc(1, { loop });
    loopErrorLog(`${who} unexpected error, will try again: ${describeFailure(err)}`);
  };
  /** The wait before attempt `attempt + 1` of something that is not a request (a ping, a file, a bug). */
  const retryDelay = (attempt: number, floorMs = MIN_PAUSE_MS): number => Math.max(floorMs, backoffDelay(attempt, { baseMs: 1000, capMs, random }));
  const pauseAfterFailure = (attempt: number): Promise<void> => abortableSleep(retryDelay(attempt), stop.signal);

  /** One /ping; true when the answer is final (accepted, or the key refused). */
  const pingOnce = async (transport: GatewayTransport): Promise<boolean> => {
    opts.log(`Pinging gateway ${transport.url}`);
    const r = await transport.ping(stop.signal);
    if (stop.signal.aborted) return true;
    up = r.ok;
    if (r.ok) {
      opts.log(`Connection to gateway ${transport.url} successful`);
      return true;
    }
    if (r.fatal) {
      opts.onFatal(`Gateway ${transport.url} refused the API key: ${r.message}`);
      return true;
    }
    opts.log(
      r.untrusted
        ? `Gateway ${transport.url} is not trusted (${r.message}); check -cert. Data is queued meanwhile`
        : `Gateway ${transport.url} unreachable (${r.message}); data is queued meanwhile`,
    );
    return false;
  };

  /** Pings until the gateway answers, with backoff; nothing waits for it. */
  const watchGateway = async (transport: GatewayTransport): Promise<void> => {
    for (let attempt = 1; !stop.signal.aborted; attempt++) {
      try {
        if (await pingOnce(transport)) return;
      } catch (err) {
        loopFailed('ping', `Pinging gateway ${transport.url}:`, err);
      }
      await abortableSleep(retryDelay(attempt, 1000), stop.signal);
    }
  };

  /** Writes a rejected batch to the dead-letter file, again and again while that fails; then acks it. */
  const deadLetter = async (lease: Lease, reason: string): Promise<void> => {
    const { batch } = lease;
    // The file is for people: the lines as they were read.
    const lines = batch.rawBytes === undefined ? batch.data : await gunzip(batch.data);
    for (let attempt = 1; !stop.signal.aborted; attempt++) {
      try {
        await opts.deadLetter.append(lines, batch.points, reason);
      } catch (err) {
        if (!(err instanceof DeadLetterWriteError)) throw err;
        m.deadLetterErrors.inc();
        const wait = retryDelay(attempt);
        deadLetterLog(`${err.message}; keeping the batch of ${batch.points} data points the gateway rejected (${reason}), retry ${attempt} in ${(wait / 1000).toFixed(2)}s`);
        await abortableSleep(wait, stop.signal);
        continue;
      }
      lease.ack();
      opts.log(`Batch of ${batch.points} data points rejected by the gateway (${reason}); written to ${opts.deadLetter.path}`);
      return;
    }
  };

  /** Joins batches already waiting in the queue to the first, up to batchSize points. */
  const gather = (first: Lease): Lease => {
    const leases = [first];
    let points = first.batch.points;
    const limit = opts.batchSize ?? 0;
    while (points < limit) {
      let next: Lease | undefined;
      try {
        next = opts.queue.takeNow();
      } catch (err) {
        loopFailed('sender', 'Joining queued batches:', err);
      }
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

  /** The request body: batches of the in-memory queue were compressed on their way in; spooled ones are raw. */
  const encode = async (batch: Batch): Promise<Buffer> => (batch.rawBytes === undefined ? gzip(batch.data) : batch.data);

  /** The next batch (joined with those waiting), its body compressing; undefined once the queue is closed and empty. */
  const prepare = async (): Promise<Prepared | undefined> => {
    const taken = await opts.queue.take();
    if (!taken) return undefined;
    const lease = gather(taken);
    return { lease, body: settle(encode(lease.batch)) };
  };

  /** Sends one compressed batch until it is delivered, dead-lettered, or the stop comes. */
  const deliver = async (worker: number, lease: Lease, body: Buffer): Promise<void> => {
    const { batch } = lease;
    for (let attempt = 1; !stop.signal.aborted; attempt++) {
      const index = selector.pick();
      const transport = transports[index]!;
      if (opts.verbose) opts.log(`[worker #${worker}] sending batch (${batch.points} data points)`);
      const started = process.hrtime.bigint();
      const sentWith = credentials;
      const outcome: SendOutcome = await transport.post(body, stop.signal);
      const elapsedNs = process.hrtime.bigint() - started;
      m.duration.observe(Number(elapsedNs) / 1e9);
      if (stop.signal.aborted) return;
      // A refused key is not a gateway that works for us; a rejected batch is an answer.
      up = outcome.kind === 'success' || outcome.kind === 'rejected';
      switch (outcome.kind) {
        case 'success':
          selector.succeeded(index);
          // The original's line: the request's duration as Go prints it, then the gateway's answer.
          if (opts.verbose) opts.log(`[worker #${worker}] ${formatGoDuration(elapsedNs)} [gateway] Batch Received`);
          m.batches.inc();
          m.points.inc(batch.points);
          m.bytes.inc(body.length, { encoding: 'gzip' });
          m.bytes.inc(batch.rawBytes ?? batch.data.length, { encoding: 'raw' });
          lease.ack();
          return;
        case 'rejected':
          await deadLetter(lease, outcome.reason);
          return;
        case 'unauthorized':
          m.failures.inc(1, { reason: 'unauthorized' });
          await opts.onUnauthorized?.(stop.signal);
          if (stop.signal.aborted) return;
          if (credentials !== sentWith) {
            if (opts.verbose) opts.log(`[worker #${worker}] gateway ${transport.url} refused the API key it was sent; sending the batch again with the new one`);
            break;
          }
          // A revoked key may be restored: retry at the slowest pace, -max-retry-delay.
          opts.log(`[worker #${worker}] GATEWAY ${transport.url} REFUSES THE API KEY (${outcome.reason}): keeping ${batch.points} data points, retrying in ${capMs / 1000}s`);
          await abortableSleep(capMs, stop.signal);
          break;
        case 'retryable': {
          m.failures.inc(1, { reason: outcome.code });
          const wait = selector.failed(index, outcome.afterMs);
          opts.log(`[worker #${worker}] sending to ${transport.url} failed (${outcome.reason}); retry ${attempt} in ${(wait / 1000).toFixed(2)}s`);
          await abortableSleep(wait, stop.signal);
          break;
        }
      }
    }
  };

  /** Delivers one batch in hand; an unexpected failure keeps it, and it is tried again (compressed again). */
  const handle = async (worker: number, item: Prepared): Promise<void> => {
    let body = item.body;
    for (let attempt = 1; !stop.signal.aborted; attempt++) {
      try {
        const compressed = await body;
        if (!compressed.ok) throw compressed.error;
        await deliver(worker, item.lease, compressed.value);
        return;
      } catch (err) {
        loopFailed('sender', `[worker #${worker}]`, err);
        await pauseAfterFailure(attempt);
        body = settle(encode(item.lease.batch));
      }
    }
  };

  // Each worker prepares its next batch while its request is in flight, so a spooled batch's gzip
  // (off the event loop) overlaps the round trip instead of adding to it. Still one request per
  // worker; a batch in hand at the stop is not acknowledged, so it counts as undelivered (or stays
  // spooled).
  const work = async (worker: number): Promise<void> => {
    opts.log(`HTTP writer #${worker} started`);
    let next = settle(prepare());
    for (let failures = 0; ;) {
      const taken = await unlessAborted(next, stop.signal);
      if (!taken) return;
      if (!taken.ok) {
        // The queue failed to hand out a batch: nothing is in hand; ask again after a pause.
        loopFailed('sender', `[worker #${worker}] taking a batch:`, taken.error);
        await pauseAfterFailure(++failures);
        next = settle(prepare());
        continue;
      }
      failures = 0;
      if (!taken.value) return;
      next = settle(prepare());
      await handle(worker, taken.value);
    }
  };

  return {
    start() {
      void watchGateway(transports[0]!);
      for (let i = 0; i < opts.workers; i++) running.push(work(i));
    },
    close() {
      closing ??= (async () => {
        // The queue is closed by its owner; the workers end once it is empty and what they took is done.
        await Promise.all(running);
        stop.abort();
        if (!destroyed) await Promise.all(transports.map((t) => t.close()));
      })();
      return closing;
    },
    destroy() {
      destroyed = true;
      stop.abort();
      for (const t of transports) t.destroy();
    },
    undelivered: () => opts.queue.depth().points,
    gatewayUp: () => up,
    setCredentials(next) {
      credentials++;
      for (const t of transports) t.setCredentials(next);
    },
  };
}

/** -console-out: batches printed to stdout instead of sent; no gateway, no ping. */
export function createConsoleForwarder(opts: { queue: BatchQueue; out?: NodeJS.WritableStream }): Forwarder {
  const out = opts.out ?? process.stdout;
  const stop = new AbortController();
  let running: Promise<void> = Promise.resolve();
  return {
    start() {
      running = (async () => {
        for (let lease = await unlessAborted(opts.queue.take(), stop.signal); lease; lease = await unlessAborted(opts.queue.take(), stop.signal)) {
          const taken = lease;
          await new Promise<void>((resolve) => out.write(taken.batch.data, () => resolve()));
          taken.ack();
        }
      })();
    },
    close: () => running,
    destroy: () => stop.abort(),
    undelivered: () => opts.queue.depth().points,
    // Standard output is always there to write to.
    gatewayUp: () => true,
  };
}
