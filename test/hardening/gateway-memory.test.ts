// The gateway's memory is bounded across requests and no key holder can hold its event loop. Each
// attack runs against a real gateway process (real TLS, a real key in a file store) while our real
// polymur-proxy streams well-behaved points through it to the bench's counting sink: every
// attacking request gets its exact answer, the gateway's peak RSS (VmHWM) stays under the bound,
// /ping from another client keeps answering quickly, and the proxy's points all arrive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'node:https';
import { gzipSync } from 'node:zlib';
import { sendLoad } from '../../harness/load-generator.js';
import { startSink, type SinkReport } from '../../harness/sink-process.js';
import { peakRssMb, scrapeCounter, until } from '../helpers/points.js';
import { rawPost, type RawResponse } from '../helpers/raw-http.js';
import { startGateway, startProxy, writeKeyFile, type GatewayProcess } from '../../harness/system.js';

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
 * arrived (and `alsoArrived` holds: what the attack sent that must arrive too, the sink counts it
 * as foreign), prints the figures and checks none is missing.
 */
async function besideProxy(name: string, gatewayArgs: string[], alsoArrived: (r: SinkReport) => boolean, attack: (a: Attack) => Promise<string>): Promise<void> {
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
    await until('every well-behaved point at the sink', async () => (report = await sink.report()).distinct === POINTS && alsoArrived(report), 60_000);
    process.stdout.write(
      `# ${name}: ${figures}; well-behaved proxy sent ${POINTS}, arrived ${report.distinct} distinct, missing ${POINTS - report.distinct}, duplicated ${report.duplicates}\n`,
    );
    assert.equal(POINTS - report.distinct, 0);
  } finally {
    await proxy.stop();
    await gateway.stop();
    await sink.stop();
  }
}

/** `members` gzip members of 1 MiB of zeros each, joined: about 1 KB on the wire per MiB inflated. */
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
    const ok = (r.status === 413 && r.body === 'Batch Too Large\n') || (r.status === 503 && r.body === 'Gateway busy, retry later\n' && r.headers['retry-after'] === '1');
    assert.ok(ok, `bomb answered ${r.status} ${JSON.stringify(r.body)}`);
  }
}

for (const count of [30, 100]) {
  test(`${count} concurrent gzip bombs of 1,024 members each get 413 or 503 + Retry-After; gateway peak RSS stays under ${MAX_RSS_MB} MB`, async () => {
    await besideProxy(
      `${count} bombs`,
      [],
      () => true,
      async ({ gateway, ca }) => {
        const body = bomb(1024);
        const before = peakRssMb(gateway.proc.pid!);
        const started = Date.now();
        const answers = await Promise.all(Array.from({ length: count }, () => rawPost(gateway.port, ca, '/ingest', KEY, body)));
        const ms = Date.now() - started;
        const after = peakRssMb(gateway.proc.pid!);
        assertRefused(answers);
        assert.ok(after < MAX_RSS_MB, `gateway peak RSS ${after} MB`);
        // Every 503 counted, and nothing left held once they are all answered.
        assert.equal(await scrapeCounter(gateway.statPort, 'polymur_batches_busy_total'), answers.filter((r) => r.status === 503).length);
        await until('the in-flight budget empty again', async () => (await scrapeCounter(gateway.statPort, 'polymur_inflight_bytes')) === 0, 10_000);
        return `${count} x ${body.length} B bombs (${(count * body.length) / 1e6} MB uploaded, 1 GiB each once inflated) answered in ${ms} ms: ${JSON.stringify(tally(answers))}; gateway peak RSS ${before} -> ${after} MB`;
      },
    );
  });
}

/**
 * `count` lines `a -V 1`, V mostly 1 and a pseudo-random digit one line in 50: about 27 MB that gzip
 * takes to some 250 KB. Negative values: the counting sink tells them from the load's point ids.
 */
function tinyLines(count: number): Buffer {
  const b = Buffer.alloc(count * 7);
  let x = 1;
  for (let i = 0, o = 0; i < count; i++, o += 7) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    b.write('a -1 1\n', o, 'latin1');
    if ((x >> 16) % 50 === 0) b[o + 3] = 0x30 + ((x >> 8) % 10);
  }
  return b;
}

interface PingFigures {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/**
 * POSTs /ping on one kept-alive connection, one at a time every 10 ms, while `busy` holds; the round
 * trips in ms of the pings that started and ended while `counting` held.
 */
async function pingWhile(port: number, ca: Buffer, busy: () => boolean, counting: () => boolean = () => true): Promise<PingFigures> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const times: number[] = [];
  const once = (): Promise<number> =>
    new Promise((resolve, reject) => {
      const started = process.hrtime.bigint();
      const req = request({ host: '127.0.0.1', servername: 'localhost', port, path: '/ping', method: 'POST', headers: { 'x-polymur-key': KEY }, ca, agent }, (res) => {
        res.resume();
        res.once('end', () => (res.statusCode === 200 ? resolve(Number(process.hrtime.bigint() - started) / 1e6) : reject(new Error(`/ping answered ${res.statusCode}`))));
      });
      req.setTimeout(10_000, () => req.destroy(new Error('/ping took over 10 s')));
      req.once('error', reject);
      req.end();
    });
  try {
    while (busy()) {
      const counted = counting();
      const ms = await once();
      if (counted && counting()) times.push(ms);
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    agent.destroy();
  }
  times.sort((a, b) => a - b);
  const at = (q: number): number => Math.round(times[Math.min(times.length - 1, Math.floor(q * times.length))]! * 10) / 10;
  return { count: times.length, p50: at(0.5), p99: at(0.99), max: at(1) };
}

/**
 * Runs `rounds` rounds of the 4 requests at once while another client pings; the answers and the
 * figures of the pings sent while the requests were in flight. `beforeRound` (awaited before each
 * round, its pings not counted) waits for what a round needs, such as room in the destination queue.
 */
async function pingBeside(
  gateway: Attack['gateway'],
  ca: Buffer,
  bodies: readonly Buffer[],
  rounds: number,
  beforeRound: () => Promise<void> = async () => undefined,
): Promise<{ answers: RawResponse[]; ping: PingFigures; ms: number }> {
  let running = true;
  let inFlight = false;
  const started = Date.now();
  const pings = pingWhile(
    gateway.port,
    ca,
    () => running,
    () => inFlight,
  );
  const answers: RawResponse[] = [];
  try {
    for (let r = 0; r < rounds; r++) {
      await beforeRound();
      inFlight = true;
      answers.push(...(await Promise.all(bodies.map((b) => rawPost(gateway.port, ca, '/ingest', KEY, b)))));
      inFlight = false;
    }
  } finally {
    running = false;
  }
  return { answers, ping: await pings, ms: Date.now() - started };
}

const PING_P99_MS = 50;
const format = (p: PingFigures): string => `${p.count} pings p50 ${p.p50} ms, p99 ${p.p99} ms, max ${p.max} ms`;

test(`/ping from another client stays under ${PING_P99_MS} ms p99 (over its p99 without them) while 4 bombs with a forged size trailer, then 4 valid bodies of 3.9 M lines, are inflated and checked`, async () => {
  const LINES = 3_900_000;
  // Rounds enough for a few hundred pings each, so that p99 is not just the slowest one.
  const ROUNDS = 5;
  const BOMB_ROUNDS = 30;
  // -max-batch-bytes a little over the valid bodies, so all four fit the default budget at once;
  // a destination queue that holds four of them, and each round sent once the sink has taken the
  // previous one (how fast it does is the machine's, not what this test measures: a round sent into
  // a queue still full is answered 503 + Retry-After, rightly).
  const gatewayArgs = ['-max-batch-bytes', String(32 * MiB), '-outgoing-queue-cap', String(5 * LINES)];
  const expectedForeign = 4 * ROUNDS * LINES;
  const all = (r: SinkReport): boolean => r.foreign === expectedForeign;
  await besideProxy('slow bodies', gatewayArgs, all, async ({ gateway, ca }) => {
    // The same pings with only the proxy's traffic, for comparison: what this machine gives now.
    const quietUntil = Date.now() + 4000;
    const quiet = await pingWhile(gateway.port, ca, () => Date.now() < quietUntil);
    process.stdout.write(`# slow bodies: no slow body (the proxy's traffic only): ${format(quiet)}\n`);
    // Then, in a process that has not inflated anything big yet: one gzip member of 128 MiB of
    // zeros (about 128 KB) whose trailer says 100 bytes.
    const forged = gzipSync(Buffer.alloc(128 * MiB), { level: 9 });
    forged.writeUInt32LE(100, forged.length - 4);
    const bombs = await pingBeside(gateway, ca, [forged, forged, forged, forged], BOMB_ROUNDS);
    process.stdout.write(`# slow bodies: ${4 * BOMB_ROUNDS} forged-trailer bombs of ${forged.length} B (4 at a time) in ${bombs.ms} ms: ${format(bombs.ping)}\n`);
    assert.deepEqual(tally(bombs.answers), { '413 "Batch Too Large\\n"': 4 * BOMB_ROUNDS });
    // Then valid bodies of tiny lines: each 23 MB to inflate and 3.9 M lines to check.
    const valid = gzipSync(tinyLines(LINES));
    const roomForARound = (): Promise<void> =>
      until('room for 4 valid bodies in the destination queue', async () => (await scrapeCounter(gateway.statPort, 'polymur_queue_points')) <= LINES, 60_000);
    const checked = await pingBeside(gateway, ca, [valid, valid, valid, valid], ROUNDS, roomForARound);
    process.stdout.write(`# slow bodies: ${4 * ROUNDS} valid bodies of ${valid.length} B, ${LINES} lines each (4 at a time) in ${checked.ms} ms: ${format(checked.ping)}\n`);
    assert.deepEqual(tally(checked.answers), { '200 "Batch Received\\n"': 4 * ROUNDS });
    // The bound is on what the slow bodies add: on a quiet machine the quiet p99 is a few ms and
    // this is the issue's 50 ms; on a machine shared with other work, its own noise is not counted.
    const bound = PING_P99_MS + quiet.p99;
    assert.ok(bombs.ping.p99 < bound, `/ping p99 ${bombs.ping.p99} ms beside the forged bombs (quiet ${quiet.p99} ms)`);
    assert.ok(checked.ping.p99 < bound, `/ping p99 ${checked.ping.p99} ms beside the valid bodies (quiet ${quiet.p99} ms)`);
    return `/ping p99 ${quiet.p99} ms quiet, ${bombs.ping.p99} ms beside bombs, ${checked.ping.p99} ms beside valid bodies; every one of the ${expectedForeign} lines of the valid bodies arrived; gateway peak RSS ${peakRssMb(gateway.proc.pid!)} MB`;
  });
});
