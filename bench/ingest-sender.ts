// The keys scenario's sender, as its own process (fork with IPC): the proxy's wire protocol through
// the proxy's own transport (src/forward/transport.ts: undici, X-Polymur-Key, answers classified as
// the proxy classifies them) and its own gzip, over a fixed number of HTTPS keep-alive connections.
// Each batch carries the next of the sending keys, so the gateway checks and accounts many keys
// while the connections, the batches and their bytes stay those of one key. The load (the
// generator's, so the sink counts every point) is built and compressed before the clock starts.
import { readFileSync } from 'node:fs';
import { prepareLoad } from '../harness/load-generator.js';
import { gzip } from '../src/forward/gzip.js';
import { createGatewayTransport, type GatewayTransport } from '../src/forward/transport.js';

export interface IngestJob {
  readonly url: string;
  /** The gateway's certificate, to verify it. */
  readonly caPath: string;
  /** The sending keys: batch k of connection c carries keys[(k * connections + c) % keys.length]. */
  readonly keys: readonly string[];
  readonly connections: number;
  readonly points: number;
  /** Lines per batch: the proxy's -batch-size (5,000), in the generator's chunks of 1,000. */
  readonly batchPoints: number;
}

export interface IngestResult {
  readonly sent: number;
  /** hrtime in ms of the first request: the measured window's start (as the generator's). */
  readonly startMs: number;
  readonly cpuSeconds: number;
  /** Answers asking to retry (503 + Retry-After when the gateway's destinations are full). */
  readonly retries: number;
}

const LINES_PER_CHUNK = 1000;
const RETRY_MS = 50;

async function send(job: IngestJob): Promise<IngestResult> {
  const ca = readFileSync(job.caPath);
  const load = prepareLoad({ connections: job.connections, points: job.points, seed: 42 });
  const chunksPerBatch = Math.max(1, Math.round(job.batchPoints / LINES_PER_CHUNK));
  const batches = await Promise.all(
    load.map(async ({ bytes, chunkEnds }) => {
      const bodies: Buffer[] = [];
      for (let k = 0, from = 0; k < chunkEnds.length; k += chunksPerBatch) {
        const to = chunkEnds[Math.min(k + chunksPerBatch, chunkEnds.length) - 1]!;
        bodies.push(await gzip(bytes.subarray(from, to)));
        from = to;
      }
      return bodies;
    }),
  );
  const transports: GatewayTransport[] = load.map(() => createGatewayTransport({ url: job.url, apiKey: job.keys[0]!, ca, timeoutMs: 30_000, connections: 1 }));
  let retries = 0;
  try {
    // One ping per connection, outside the window: the TLS handshakes are not the batches' cost.
    for (const t of transports) {
      const ping = await t.ping();
      if (!ping.ok) throw new Error(`ping: ${ping.message}`);
    }
    const cpuBefore = process.cpuUsage();
    const started = process.hrtime.bigint();
    await Promise.all(
      transports.map(async (t, c) => {
        for (const [k, body] of batches[c]!.entries()) {
          t.setCredentials({ apiKey: job.keys[(k * job.connections + c) % job.keys.length]!, ca });
          for (;;) {
            const outcome = await t.post(body);
            if (outcome.kind === 'success') break;
            if (outcome.kind !== 'retryable') throw new Error(`batch ${k} of connection ${c}: ${outcome.reason}`);
            retries++;
            await new Promise((r) => setTimeout(r, outcome.afterMs ?? RETRY_MS));
          }
        }
      }),
    );
    const cpu = process.cpuUsage(cpuBefore);
    return { sent: job.points, startMs: Number(started) / 1e6, cpuSeconds: (cpu.user + cpu.system) / 1e6, retries };
  } finally {
    await Promise.all(transports.map((t) => t.close()));
  }
}

process.once('message', (job: IngestJob) => {
  send(job).then(
    (result) => process.send!({ type: 'done', ...result }, () => process.exit(0)),
    (err: unknown) => process.send!({ type: 'error', message: String(err) }, () => process.exit(1)),
  );
});
