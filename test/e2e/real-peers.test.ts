// The seed system among the Graphite tools people run: collectd and statsd send to polymur-proxy,
// polymur-gateway relays to Debian's carbon-cache, and the values are read back from whisper files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCarbon } from '../helpers/carbon.js';
import { startCollectd, startStatsd } from '../helpers/peers.js';
import { sendText } from '../helpers/graphite-stream.js';
import { until } from '../helpers/points.js';
import { startGateway, startProxy, writeKeyFile } from '../../harness/system.js';

const KEY = 'real-peers-key-0123456789abcdef';

test('collectd and statsd -> proxy -> gateway -> carbon-cache: values land in whisper files', async () => {
  const carbon = await startCarbon();
  const keys = writeKeyFile({ site1: KEY });
  const gateway = await startGateway({ keyFile: keys, args: ['-destinations', carbon.address] });
  const proxy = await startProxy({ gateway: gateway.url, cert: gateway.cert, apiKey: KEY, args: ['-flush-interval', '200ms'] });
  const collectd = startCollectd(proxy.port);
  const statsd = await startStatsd(proxy.port);
  try {
    // Plain lines with known values and timestamps.
    const now = Math.floor(Date.now() / 1000);
    const expected: Array<[string, number, number]> = [
      ['e2e.carbon.alpha', 42, now - 30],
      ['e2e.carbon.alpha', 43.5, now - 20],
      ['e2e.carbon.beta', -7, now - 10],
    ];
    await sendText(proxy.port, expected.map(([m, v, t]) => `${m} ${v} ${t}\n`).join(''));
    for (const metric of ['e2e.carbon.alpha', 'e2e.carbon.beta']) {
      await carbon.waitForMetric(metric, 30_000);
    }
    const alpha = await carbon.fetch('e2e.carbon.alpha');
    const beta = await carbon.fetch('e2e.carbon.beta');
    assert.deepEqual(
      alpha.filter(([, v]) => v !== null),
      [
        [now - 30, 42],
        [now - 20, 43.5],
      ],
    );
    assert.deepEqual(
      beta.filter(([, v]) => v !== null),
      [[now - 10, -7]],
    );

    // statsd: 3 + 4 hits counted, flushed as stats_counts.e2e.hits.
    await statsd.send(['e2e.hits:3|c', 'e2e.hits:4|c']);
    await carbon.waitForMetric('stats_counts.e2e.hits', 30_000);
    let total = 0;
    const hits = async (): Promise<number> => (total = (await carbon.fetch('stats_counts.e2e.hits')).reduce((sum, [, v]) => sum + (v ?? 0), 0));
    await until('7 statsd hits stored', async () => (await hits()) >= 7, 30_000);
    assert.equal(total, 7);

    // collectd: its load and memory metrics, with plausible values.
    await carbon.waitForMetric('collectd.e2ehost.load.load.shortterm', 30_000);
    await carbon.waitForMetric('collectd.e2ehost.memory.memory-used', 30_000);
    const used = (await carbon.fetch('collectd.e2ehost.memory.memory-used')).filter(([, v]) => v !== null);
    assert.ok(used.length > 0 && used.every(([, v]) => (v as number) > 0), 'memory-used has positive values');
  } finally {
    await statsd.stop();
    await collectd.stop();
    await proxy.stop();
    await gateway.stop();
    await carbon.stop();
  }
});
