// A site that reaches the internet only through an egress proxy: real polymur-proxy -> Debian's
// tinyproxy (CONNECT only, to the gateway's port) -> real polymur-gateway (HTTPS) -> TCP sink.
// The forward proxy is killed mid-stream and started again on the same port, refuses the tunnel
// (403, a wrong password), and freezes (SIGSTOP): every point arrives. -http-proxy, NO_PROXY and
// HTTP_PROXY choose the route. What tinyproxy logged shows the traffic went through it, and only
// as CONNECT tunnels (TLS end to end: it never saw a request line of ours, nor the key).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sendLoad } from '../../harness/load-generator.js';
import { delivery, peakRssMb, scrapeCounter, until, type Delivery } from '../helpers/points.js';
import { startGateway, startProxy, type GatewayProcess, type ListenerProcess } from '../../harness/system.js';
import type { TestCert } from '../../harness/certs.js';
import { startTcpSink, type TcpSink } from '../helpers/tcp-sink.js';
import { startTinyproxy, type Tinyproxy } from '../helpers/tinyproxy.js';
import { runToExit } from '../../harness/programs.js';

const CONNECTIONS = 2;
const FAST_RETRY = ['-timeout', '2s', '-max-retry-delay', '1s', '-flush-interval', '100ms', '-verbose=false'];
/** How long the forward proxy stays down, at least: several rounds of retries (-max-retry-delay 1s). */
const OUTAGE_MS = 3_000;
/** Nothing listens there: a proxy that would be used by mistake refuses every connection. */
const BOGUS_PROXY = 'http://127.0.0.1:1';

function report(name: string, d: Delivery, extra: string): void {
  process.stdout.write(`# ${name}: sent ${d.sent}, arrived ${d.arrived}, distinct ${d.distinct}, missing ${d.missing}, duplicated ${d.duplicated}; ${extra}\n`);
}

interface Site {
  sink: TcpSink;
  gateway: GatewayProcess & { cert: TestCert };
  tinyproxy: Tinyproxy;
  close(): Promise<void>;
}

async function startSite(basicAuth?: { user: string; password: string }): Promise<Site> {
  const sink = await startTcpSink();
  const gateway = await startGateway({ args: ['-destinations', sink.address, '-outgoing-queue-cap', '100000'] });
  const tinyproxy = await startTinyproxy({ connectPorts: [gateway.port], ...(basicAuth ? { basicAuth } : {}) });
  return {
    sink,
    gateway,
    tinyproxy,
    async close() {
      await tinyproxy.stop();
      await gateway.stop();
      await sink.close();
    },
  };
}

/** Every request tinyproxy served is a CONNECT to the gateway: our HTTP stayed inside TLS. */
function assertOnlyTunnels(site: Site): number {
  const requests = site.tinyproxy.requests();
  for (const r of requests) assert.equal(r, `CONNECT localhost:${site.gateway.port} HTTP/1.1`);
  assert.doesNotMatch(site.tinyproxy.log(), /\/ingest|\/ping|x-polymur-key/i);
  return requests.length;
}

async function deliverAll(proxy: ListenerProcess, sink: TcpSink, points: number): Promise<Delivery> {
  await sendLoad({ port: proxy.port, connections: CONNECTIONS, points });
  await until('every point at the sink', () => delivery(sink.lines, CONNECTIONS, points).missing === 0, 60_000);
  return delivery(sink.lines, CONNECTIONS, points);
}

test('HTTPS_PROXY with a password: batches go through CONNECT tunnels; the forward proxy killed for a while and restarted on its port loses nothing', async () => {
  const site = await startSite({ user: 'user', password: 'secret' });
  const proxy = await startProxy({
    gateway: site.gateway.url,
    cert: site.gateway.cert,
    args: FAST_RETRY,
    env: { HTTPS_PROXY: `http://user:secret@127.0.0.1:${site.tinyproxy.port}` },
  });
  try {
    await proxy.waitForLog(new RegExp(`Gateway ${site.gateway.url} through forward proxy http://user:\\*\\*\\*@127\\.0\\.0\\.1:${site.tinyproxy.port} \\(HTTPS_PROXY\\)`));
    assert.doesNotMatch(proxy.stderr(), /secret/);
    // A wrong password: the forward proxy refuses the tunnel (tinyproxy says 401, RFC 9110 407). Named
    // as the forward proxy's refusal, kept apart from the gateway refusing the key (which exits 1).
    const wrong = await startProxy({
      gateway: site.gateway.url,
      cert: site.gateway.cert,
      args: FAST_RETRY,
      env: { HTTPS_PROXY: `http://user:wrong@127.0.0.1:${site.tinyproxy.port}` },
    });
    await wrong.waitForLog(
      /unreachable \(POLYMUR_ERR_PROXY_TUNNEL_REFUSED: forward proxy http:\/\/user:\*\*\*@127\.0\.0\.1:\d+ refused the tunnel to localhost:\d+: HTTP 40[17]\)/,
    );
    assert.equal(wrong.proc.exitCode, null, 'still running, retrying');
    await wrong.stop();

    const points = 60_000;
    const sending = sendLoad({ port: proxy.port, connections: CONNECTIONS, points, ratePerSecond: 10_000 });
    await site.sink.waitForLines(10_000);
    const tunnelsBefore = assertOnlyTunnels(site);
    assert.ok(tunnelsBefore >= 1, 'tinyproxy served the first batches');

    await site.tinyproxy.kill();
    const outageStarted = Date.now();
    const failuresBefore = await scrapeCounter(proxy.statPort, 'polymur_send_failures_total');
    // Down for a few seconds, and until every worker has failed to send and retried a few times.
    await until(
      'failed sends while the forward proxy is down',
      async () => Date.now() - outageStarted >= OUTAGE_MS && (await scrapeCounter(proxy.statPort, 'polymur_send_failures_total')) >= failuresBefore + 9,
      30_000,
    );
    const arrivedDuringOutage = site.sink.lines.length;
    await site.tinyproxy.start();
    const outageMs = Date.now() - outageStarted;
    await sending;

    await until('every point at the sink', () => delivery(site.sink.lines, CONNECTIONS, points).missing === 0, 60_000);
    const d = delivery(site.sink.lines, CONNECTIONS, points);
    const tunnels = assertOnlyTunnels(site);
    const failures = (await scrapeCounter(proxy.statPort, 'polymur_send_failures_total')) - failuresBefore;
    report(
      'egress proxy killed and restarted',
      d,
      `outage ${outageMs} ms, ${failures} failed sends, lines at the sink when it came back ${arrivedDuringOutage}, CONNECT tunnels ${tunnelsBefore} before + ${tunnels - tunnelsBefore} after; proxy peak RSS ${peakRssMb(proxy.proc.pid!)} MB`,
    );
    assert.equal(d.missing, 0);
    assert.ok(tunnels > tunnelsBefore, 'new tunnels through the restarted forward proxy');
    assert.ok(failures >= 9, 'the outage was seen as failed sends, retried');
  } finally {
    await proxy.stop();
    await site.close();
  }
});

test('the forward proxy refuses the tunnel (403: the gateway port not allowed), then allows it: the data waited, nothing lost', async () => {
  const site = await startSite();
  await site.tinyproxy.kill();
  await site.tinyproxy.start([site.gateway.port + 1]);
  const proxy = await startProxy({
    gateway: site.gateway.url,
    cert: site.gateway.cert,
    args: FAST_RETRY,
    env: { HTTPS_PROXY: site.tinyproxy.url },
  });
  try {
    const points = 5_000;
    await sendLoad({ port: proxy.port, connections: CONNECTIONS, points });
    const refused = `POLYMUR_ERR_PROXY_TUNNEL_REFUSED: forward proxy ${site.tinyproxy.url} refused the tunnel to localhost:${site.gateway.port}: HTTP 403`;
    await proxy.waitForLog(new RegExp(`sending to ${site.gateway.url} failed \\(${refused.replace(/[.]/g, '\\.')}\\); retry 3 `));
    assert.equal(site.sink.lines.length, 0, 'nothing reached the gateway past the refusing forward proxy');
    await site.tinyproxy.kill();
    await site.tinyproxy.start();
    await until('every point at the sink', () => delivery(site.sink.lines, CONNECTIONS, points).missing === 0, 60_000);
    const d = delivery(site.sink.lines, CONNECTIONS, points);
    report('egress proxy refusing CONNECT (403), then allowing it', d, `CONNECT requests ${assertOnlyTunnels(site)}`);
    assert.equal(d.missing, 0);
  } finally {
    await proxy.stop();
    await site.close();
  }
});

test('a frozen forward proxy (SIGSTOP: it accepts, never answers): requests end at -timeout and are retried; after SIGCONT nothing is lost', async () => {
  const site = await startSite();
  const proxy = await startProxy({
    gateway: site.gateway.url,
    cert: site.gateway.cert,
    args: FAST_RETRY,
    env: { HTTPS_PROXY: site.tinyproxy.url },
  });
  try {
    const points = 30_000;
    const sending = sendLoad({ port: proxy.port, connections: CONNECTIONS, points, ratePerSecond: 10_000 });
    await site.sink.waitForLines(5_000);
    site.tinyproxy.freeze();
    const frozenAt = Date.now();
    // Two rounds per worker: the requests in flight on open tunnels, then the CONNECTs of new ones.
    await until('the frozen proxy seen as timeouts', () => (proxy.stderr().match(/TIMEOUT/g) ?? []).length >= 6, 30_000);
    site.tinyproxy.thaw();
    const frozenMs = Date.now() - frozenAt;
    await sending;
    await until('every point at the sink', () => delivery(site.sink.lines, CONNECTIONS, points).missing === 0, 60_000);
    const d = delivery(site.sink.lines, CONNECTIONS, points);
    const timeouts = [...new Set(proxy.stderr().match(/UND_ERR_\w*TIMEOUT/g))].join(', ');
    report('egress proxy frozen (SIGSTOP) then thawed', d, `frozen ${frozenMs} ms, ${timeouts}`);
    assert.equal(d.missing, 0);
  } finally {
    await proxy.stop();
    await site.close();
  }
});

test('SIGTERM while the forward proxy is frozen: the proxy ends within -shutdown-timeout plus a second, counting what it could not deliver', async () => {
  const site = await startSite();
  site.tinyproxy.freeze();
  const proxy = await startProxy({
    gateway: site.gateway.url,
    cert: site.gateway.cert,
    args: [...FAST_RETRY, '-timeout', '30s', '-shutdown-timeout', '1s'],
    env: { HTTPS_PROXY: site.tinyproxy.url },
  });
  try {
    await sendLoad({ port: proxy.port, connections: CONNECTIONS, points: 1_000 });
    await proxy.waitForLog(/Pinging gateway/);
    const started = Date.now();
    const exit = await proxy.stop('SIGTERM');
    const tookMs = Date.now() - started;
    process.stdout.write(`# SIGTERM with a frozen forward proxy: exit ${exit.code ?? exit.signal} after ${tookMs} ms\n`);
    assert.ok(tookMs < 2_000 + 1_000, `ended in ${tookMs} ms (-shutdown-timeout 1s, plus a second)`);
    assert.match(proxy.stderr(), /1000 data points could not be delivered before the shutdown timeout/);
  } finally {
    await proxy.stop();
    await site.close();
  }
});

test('-http-proxy wins over a bogus HTTPS_PROXY; NO_PROXY=localhost goes around the forward proxy; -http-proxy none ignores the environment', async () => {
  const site = await startSite();
  const cases = [
    {
      name: '-http-proxy',
      args: ['-http-proxy', site.tinyproxy.url],
      env: { HTTPS_PROXY: BOGUS_PROXY },
      log: `through forward proxy ${site.tinyproxy.url} \\(-http-proxy\\)`,
      tunnelled: true,
    },
    { name: 'NO_PROXY', args: [], env: { HTTPS_PROXY: site.tinyproxy.url, NO_PROXY: 'example.com, localhost' }, log: 'direct \\(NO_PROXY entry "localhost"\\)', tunnelled: false },
    { name: '-http-proxy none', args: ['-http-proxy', 'none'], env: { https_proxy: BOGUS_PROXY }, log: 'direct \\(-http-proxy none\\)', tunnelled: false },
  ];
  try {
    for (const c of cases) {
      site.sink.lines.length = 0;
      const before = assertOnlyTunnels(site);
      const proxy = await startProxy({ gateway: site.gateway.url, cert: site.gateway.cert, args: [...FAST_RETRY, ...c.args], env: c.env });
      try {
        await proxy.waitForLog(new RegExp(`Gateway ${site.gateway.url} ${c.log}`));
        const points = 5_000;
        const d = await deliverAll(proxy, site.sink, points);
        const tunnels = assertOnlyTunnels(site) - before;
        report(c.name, d, `CONNECT tunnels ${tunnels}`);
        assert.equal(d.missing, 0);
        if (c.tunnelled) assert.ok(tunnels >= 1, `${c.name}: went through tinyproxy`);
        else assert.equal(tunnels, 0, `${c.name}: did not touch tinyproxy`);
      } finally {
        await proxy.stop();
      }
    }
  } finally {
    await site.close();
  }
});

test('an http:// gateway goes through HTTP_PROXY (not HTTPS_PROXY), tunnelled by CONNECT as well', async () => {
  const sink = await startTcpSink();
  const gateway = await startGateway({ args: ['-destinations', sink.address, '-listen-http-port', '0'] });
  const httpPort = Number((await gateway.waitForLog(/HTTP listening on \S+:(\d+)/))[1]);
  const tinyproxy = await startTinyproxy({ connectPorts: [httpPort] });
  const url = `http://localhost:${httpPort}`;
  const proxy = await startProxy({ gateway: url, args: FAST_RETRY, env: { http_proxy: tinyproxy.url, HTTPS_PROXY: BOGUS_PROXY } });
  try {
    await proxy.waitForLog(new RegExp(`Gateway ${url} through forward proxy ${tinyproxy.url} \\(http_proxy\\)`));
    const d = await deliverAll(proxy, sink, 5_000);
    const requests = tinyproxy.requests();
    report('http:// gateway through http_proxy', d, `requests at tinyproxy: ${requests.length}`);
    assert.equal(d.missing, 0);
    assert.ok(requests.length >= 1);
    for (const r of requests) assert.equal(r, `CONNECT localhost:${httpPort} HTTP/1.1`);
  } finally {
    await proxy.stop();
    await tinyproxy.stop();
    await gateway.stop();
    await sink.close();
  }
});

test('a proxy URL that cannot work is refused at start with exit 2, from the flag or the environment', async () => {
  const base = ['-listen-addr', '127.0.0.1:0', '-stat-addr', '127.0.0.1:0', '-gateway', 'https://localhost:1', '-api-key', 'k'];
  const cases: Array<[string[], NodeJS.ProcessEnv, RegExp]> = [
    [['-http-proxy', 'socks5://127.0.0.1:1080'], {}, /-http-proxy "socks5:\/\/127\.0\.0\.1:1080": only http:\/\/ proxies are supported/],
    [['-http-proxy', 'https://u:pw@127.0.0.1:3128'], {}, /-http-proxy "https:\/\/u:\*\*\*@127\.0\.0\.1:3128": only http:\/\/ proxies/],
    [[], { HTTPS_PROXY: 'http://[bad' }, /HTTPS_PROXY "http:\/\/\[bad" is not a proxy URL/],
  ];
  for (const [args, env, message] of cases) {
    const r = await runToExit('proxy', [...base, ...args], { ...env });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /pw@|Metrics listener started/);
  }
});
