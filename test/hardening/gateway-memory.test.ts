// The gateway's memory is bounded across requests and no key holder can hold its event loop. Each
// attack runs against a real gateway process (real TLS, a real key in a file store) while our real
// polymur-proxy streams well-behaved points through it to the bench's counting sink: every
// attacking request gets its exact answer, the gateway's peak RSS (VmHWM) stays under the bound,
// /ping from another client keeps answering quickly, and the proxy's points all arrive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { sendLoad } from '../../bench/load-generator.js';
import { startSink, type SinkReport } from '../../bench/sink-process.js';
import { peakRssMb, until } from '../helpers/points.js';
import { rawPost, type RawResponse } from '../helpers/raw-http.js';
import { startGateway, startProxy, writeKeyFile, type GatewayProcess } from '../helpers/system.js';

const KEY = 'gwmem-key-0123456789abcdef01234567';
const CONNECTIONS = 2;
const POINTS = 20_000;
const MiB = 1024 * 1024;
/** The bound the security issue sets for the gateway under 30 and 100 concurrent bombs. */
const MAX_RSS_MB = 400;

interface Attack {
  readonly gateway: GatewayProcess & { cert: { cert: Buffer } };
  readonly ca: Buffer;
}

/**
 * Starts the counting sink, a gateway with default limits (plus `gatewayArgs`) and a proxy; streams
 * POINTS well-behaved points at 5,000/s while `attack` runs; then waits until every one of them
 * arrived, prints the figures and checks none is missing. Returns the sink's last report.
 */
async function besideProxy(name: string, gatewayArgs: string[], attack: (a: Attack) => Promise<string>): Promise<SinkReport> {
  const sink = await startSink(CONNECTIONS, POINTS / CONNECTIONS);
  const gateway = await startGateway({ keyFile: writeKeyFile({ site1: KEY }), args: ['-destinations', `127.0.0.1:${sink.port}`, ...gatewayArgs] });
  const proxy = await startProxy({
    gateway: gateway.url,
    cert: gateway.cert,
    apiKey: KEY,
    args: ['-workers', '2', '-flush-interval', '100ms', '-timeout', '10s', '-max-retry-delay', '1s', '-verbose=false'],
  });
  try {
    const sending = sendLoad({ port: proxy.port, connections: CONNECTIONS, points: POINTS, ratePerSecond: 5_000 });
    const figures = await attack({ gateway, ca: gateway.cert.cert });
    await sending;
    let report = await sink.report();
    await until('every well-behaved point at the sink', async () => (report = await sink.report()).distinct === POINTS, 60_000);
    process.stdout.write(
      `# ${name}: ${figures}; well-behaved proxy sent ${POINTS}, arrived ${report.distinct} distinct, missing ${POINTS - report.distinct}, duplicated ${report.duplicates}\n`,
    );
    assert.equal(POINTS - report.distinct, 0);
    return report;
  } finally {
    await proxy.stop();
    await gateway.stop();
    await sink.stop();
  }
}

/** `members` gzip members of 1 MiB of zeros each, joined: about 1 KB on the wire per GiB... per MiB inflated. */
function bomb(members: number): Buffer {
  const member = gzipSync(Buffer.alloc(MiB), { level: 9 });
  return Buffer.concat(Array.from({ length: members }, () => member));
}

/** Counts answers by "status body [retry-after]". */
function tally(answers: readonly RawResponse[]): Record<string, number> {
  const t: Record<string, number> = {};
  for (const r of answers) {
    const k = `${r.status} ${JSON.stringify(r.body)}${r.headers['retry-after'] ? ` retry-after ${r.headers['retry-after']}` : ''}`;
    t[k] = (t[k] ?? 0) + 1;
  }
  return t;
}

/** Each answer is 413 (inflated to -max-batch-bytes, no more) or 503 + Retry-After (the budget stayed full). */
function assertRefused(answers: readonly RawResponse[]): void {
  for (const r of answers) {
    const ok =
      (r.status === 413 && r.body === 'Batch Too Large\n') ||
      (r.status === 503 && r.body === 'Gateway busy, retry later\n' && r.headers['retry-after'] === '1');
    assert.ok(ok, `bomb answered ${r.status} ${JSON.stringify(r.body)}`);
  }
}

for (const count of (process.env.GWMEM_BOMBS ?? "30,100").split(",").map(Number)) {
  test(`${count} concurrent gzip bombs of 1,024 members each get 413 or 503 + Retry-After; gateway peak RSS stays under ${MAX_RSS_MB} MB`, async () => {
    await besideProxy(`${count} bombs`, [], async ({ gateway, ca }) => {
      const body = bomb(1024);
      const before = peakRssMb(gateway.proc.pid!);
      const started = Date.now();
      const answers = await Promise.all(Array.from({ length: count }, () => rawPost(gateway.port, ca, '/ingest', KEY, body)));
      const ms = Date.now() - started;
      const after = peakRssMb(gateway.proc.pid!);
      assertRefused(answers);
      assert.ok(after < MAX_RSS_MB, `gateway peak RSS ${after} MB`);
      return `${count} x ${body.length} B bombs (${(count * body.length) / 1e6} MB uploaded, 1 GiB each once inflated) answered in ${ms} ms: ${JSON.stringify(tally(answers))}; gateway peak RSS ${before} -> ${after} MB`;
    });
  });
}
