// A real Prometheus scrapes a real proxy, gateway and relay: `promtool check metrics` finds nothing
// to say about any of the three /metrics, every counter is there at 0 before its first event, a
// rate of points and the queue depth come back through the HTTP query API, and the alerting rules
// of deploy/prometheus (checked by `promtool check rules`) fire on what they are meant for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { openGraphiteStream } from '../helpers/graphite-stream.js';
import { until } from '../helpers/points.js';
import type { RunningProgram } from '../../harness/programs.js';
import { INVALID_REASONS } from '../../src/protocol/lines.js';
import { scrape } from '../helpers/prometheus.js';
import { promtool, startPrometheus, type PrometheusServer } from '../helpers/prometheus-server.js';
import { startGateway, startProxy, startRelay } from '../../harness/system.js';
import { startTcpSink, type TcpSink } from '../helpers/tcp-sink.js';

const ALERT_RULES = fileURLToPath(new URL('../../../deploy/prometheus/polymur-alerts.yml', import.meta.url));

async function metricsText(statPort: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${statPort}/metrics`)).text();
}

function assertPromtoolClean(program: string, text: string): void {
  const r = promtool(['check', 'metrics'], text);
  assert.deepEqual({ status: r.status, output: r.output }, { status: 0, output: '' }, `promtool check metrics on ${program}`);
}

test('the alerting rules pass promtool check rules', () => {
  const r = promtool(['check', 'rules', ALERT_RULES]);
  assert.equal(r.status, 0, r.output);
  assert.match(r.output, /SUCCESS: 3 rules found/);
});

test('Prometheus scrapes proxy, gateway and relay: promtool-clean, counters at 0 from the start, rates, queue depth, alerts', async () => {
  const sinks: TcpSink[] = [];
  const programs: RunningProgram[] = [];
  let prometheus: PrometheusServer | undefined;
  let sending: NodeJS.Timeout | undefined;
  try {
    const [gatewaySink, relaySink, closed] = [await startTcpSink(), await startTcpSink(), await startTcpSink()];
    sinks.push(gatewaySink, relaySink);
    const down = closed.address; // nothing listens there once closed: a destination that is down
    await closed.close();
    const gateway = await startGateway({ args: ['-destinations', gatewaySink.address] });
    programs.push(gateway);
    const proxy = await startProxy({ gateway: gateway.url, cert: gateway.cert, args: ['-flush-interval', '100ms', '-queue-cap', '777'] });
    programs.push(proxy);
    // Its shutdown is not under test: the down destination's queue would hold it the whole default 10 s.
    const relay = await startRelay(['-destinations', `${relaySink.address},${down}`, '-flush-interval', '100ms', '-outgoing-queue-cap', '1000000', '-shutdown-timeout', '1s']);
    programs.push(relay);
    const stat = { proxy: proxy.statPort, gateway: gateway.statPort, relay: relay.statPort };

    // Before any data point: the exposition is clean and every counter is there at 0.
    for (const [program, port] of Object.entries(stat)) {
      assertPromtoolClean(program, await metricsText(port));
      const m = await scrape(port);
      assert.equal(m.families.get('process_cpu_seconds_total')?.type, 'COUNTER', program);
      assert.equal(m.samples('polymur_build_info').length, 1, program);
      assert.equal(m.value('polymur_points_invalid_total', { reason: 'value' }), 0, program);
      assert.equal(m.samples('polymur_points_invalid_total').length, INVALID_REASONS.length, `${program}: one series per reason`);
    }
    const startProxyScrape = await scrape(proxy.statPort);
    assert.deepEqual(startProxyScrape.samples('polymur_build_info')[0]!.labels!.program, 'polymur-proxy');
    assert.match(startProxyScrape.samples('polymur_build_info')[0]!.labels!.version!, /^\d+\.\d+\.\d+/);
    assert.equal(startProxyScrape.samples('polymur_build_info')[0]!.labels!.node, process.version);
    for (const name of ['polymur_points_received_total', 'polymur_points_written_total', 'polymur_batches_written_total', 'polymur_dead_letter_points_total']) {
      assert.deepEqual(
        startProxyScrape.samples(name).map((s) => s.value),
        ['0'],
        `proxy ${name} at 0`,
      );
    }
    assert.equal(startProxyScrape.value('polymur_points_dropped_total', { reason: 'queue_full' }), 0);
    assert.equal(startProxyScrape.value('polymur_queue_capacity_batches'), 777);
    const startRelayScrape = await scrape(relay.statPort);
    assert.equal(startRelayScrape.samples('polymur_points_written_total').length, 2, 'relay: one written series per destination from the start');
    assert.equal(startRelayScrape.value('polymur_points_dropped_total', { reason: 'destination_removed' }), 0);
    assert.equal((await scrape(gateway.statPort)).value('polymur_points_forwarded_total'), 0);

    prometheus = await startPrometheus({ jobs: { proxy: [stat.proxy], gateway: [stat.gateway], relay: [stat.relay] }, ruleFiles: [ALERT_RULES] });
    const toProxy = await openGraphiteStream(proxy.port);
    const toRelay = await openGraphiteStream(relay.port);
    let round = 0;
    const sendRound = (): void => {
      const batch = Array.from({ length: 50 }, (_, i) => `prom.test.m${i} ${round} ${1700000000 + round}`);
      round++;
      void toProxy.send(batch).catch(() => {});
      void toRelay.send(batch).catch(() => {});
    };
    sendRound();
    sending = setInterval(sendRound, 100);
    sending.unref();

    const started = Date.now();
    await until(
      'a non-zero rate of received points on all three jobs',
      async () => {
        const r = await prometheus!.query('sum by (job) (rate(polymur_points_received_total[5s])) > 0');
        return r.length === 3;
      },
      20_000,
    );
    await until(
      'a non-zero rate of written points on all three jobs',
      async () => {
        const r = await prometheus!.query('sum by (job) (rate(polymur_points_written_total[5s])) > 0');
        return r.length === 3;
      },
      10_000,
    );
    console.log(`rates non-zero on all three jobs ${Date.now() - started} ms after Prometheus started; ${round * 50} points sent to each of proxy and relay`);

    // Prometheus has scraped the invalid counter at 0 by now: increase() sees this line.
    await toRelay.send(['not a valid line']);
    await until(
      "the down destination's queue depth in Prometheus",
      async () => {
        const r = await prometheus!.query(`polymur_queue_points{job="relay",destination="${down}"} > 0`);
        return r.length === 1;
      },
      10_000,
    );
    const capacity = await prometheus.query('polymur_queue_capacity_batches{job="proxy"}');
    assert.equal(capacity[0]?.value[1], '777');
    const proxyDepth = await prometheus.query('polymur_queue_batches{job="proxy"}');
    assert.equal(proxyDepth.length, 1, "the proxy's queue depth is scraped");

    let alerts: Awaited<ReturnType<PrometheusServer['alerts']>> = [];
    await until(
      'PolymurDestinationDown pending for the down destination, PolymurPointsRejected firing',
      async () => {
        alerts = await prometheus!.alerts();
        const downAlert = alerts.find((a) => a.labels.alertname === 'PolymurDestinationDown');
        const rejected = alerts.find((a) => a.labels.alertname === 'PolymurPointsRejected');
        return downAlert?.labels.destination === down && downAlert.state === 'pending' && rejected?.labels.reason === 'fields' && rejected.state === 'firing';
      },
      15_000,
    ).catch(async (err: Error) => {
      throw new Error(
        `${err.message}; active alerts: ${JSON.stringify(alerts)}; invalid: ${JSON.stringify(await prometheus!.query('polymur_points_invalid_total{job="relay"}[30s]').catch((e: Error) => e.message))}`,
      );
    });
    const live = await prometheus.alerts();
    assert.ok(!live.some((a) => a.labels.alertname === 'PolymurDestinationDown' && a.labels.destination !== down), 'only the down destination is reported down');

    clearInterval(sending);
    await Promise.all([toProxy.close(), toRelay.close()]);
    // After traffic (histograms observed, labelled series added) the expositions are still clean.
    for (const [program, port] of Object.entries(stat)) assertPromtoolClean(program, await metricsText(port));
  } finally {
    if (sending) clearInterval(sending);
    await prometheus?.stop();
    for (const p of programs.reverse()) await p.stop();
    for (const s of sinks) await s.close();
  }
});
