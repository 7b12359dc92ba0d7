// The inputs a Graphite site already has, into carbon-cache's whisper files: Debian's collectd
// sending UDP (write_graphite, Protocol "udp") and Debian's carbon-relay sending its pickle protocol
// to DESTINATIONS that are our pickle ports, both through polymur-proxy -> polymur-gateway, and
// both into the polymur relay in place of a carbon-relay. The gateway prefixes the proxy's points
// with the key's name (-key-prefix), which tells the two paths apart in the one carbon-cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCarbon } from '../helpers/carbon.js';
import { startCarbonRelay } from '../helpers/carbon-relay.js';
import { sendText } from '../helpers/graphite-stream.js';
import { startCollectd } from '../helpers/peers.js';
import { scrapeCounter } from '../helpers/points.js';
import type { RunningProgram } from '../../harness/programs.js';
import { startGateway, startProxy, startRelay, writeKeyFile } from '../../harness/system.js';

const KEY = 'carbon-inputs-key-0123456789abcdef';
const INPUTS = ['-listen-udp', '127.0.0.1:0', '-listen-pickle', '127.0.0.1:0'];

async function inputPorts(p: RunningProgram): Promise<{ udp: number; pickle: number }> {
  const [udp, pickle] = await Promise.all([p.waitForLog(/UDP listener started: \S+:(\d+)/), p.waitForLog(/Pickle listener started: \S+:(\d+)/)]);
  return { udp: Number(udp[1]), pickle: Number(pickle[1]) };
}

test('collectd over UDP and carbon-relay over pickle -> proxy -> gateway -> carbon-cache, and -> the polymur relay -> carbon-cache', { timeout: 120_000 }, async () => {
  // Stopped in reverse order whatever fails: a peer left running would keep the test process alive.
  const stops: Array<() => Promise<unknown>> = [];
  const started = <T extends { stop(): Promise<unknown> }>(peer: T): T => {
    stops.unshift(() => peer.stop());
    return peer;
  };
  try {
    const carbon = started(await startCarbon());
    const keys = writeKeyFile({ site1: KEY });
    const gateway = started(await startGateway({ keyFile: keys, args: ['-destinations', carbon.address, '-key-prefix'] }));
    const proxy = started(await startProxy({ gateway: gateway.url, cert: gateway.cert, apiKey: KEY, args: ['-flush-interval', '200ms', ...INPUTS] }));
    const relay = started(await startRelay(['-destinations', carbon.address, ...INPUTS]));
    const [proxyPorts, relayPorts] = await Promise.all([inputPorts(proxy), inputPorts(relay)]);
    const carbonRelay = started(await startCarbonRelay([`127.0.0.1:${proxyPorts.pickle}`, `127.0.0.1:${relayPorts.pickle}`]));
    started(startCollectd([proxyPorts.udp, relayPorts.udp], 'udphost', 'udp'));
    // Into carbon-relay as plaintext, out of it as pickle: values a float must carry exactly.
    const now = Math.floor(Date.now() / 1000);
    const expected: Array<[string, number, number]> = [
      ['e2e.pickle.alpha', 42, now - 30],
      ['e2e.pickle.alpha', 0.1, now - 20],
      ['e2e.pickle.beta', -7.25, now - 10],
      ['e2e.pickle.gamma', 1 / 3, now - 5],
      ['e2e.pickle.gamma', 1e21, now - 4],
    ];
    await sendText(carbonRelay.port, expected.map(([m, v, t]) => `${m} ${v} ${t}\n`).join(''));
    const metrics = ['e2e.pickle.alpha', 'e2e.pickle.beta', 'e2e.pickle.gamma'];
    for (const prefix of ['site1.', '']) {
      for (const m of metrics) await carbon.waitForMetric(prefix + m, 30_000);
      const stored = await carbon.fetchMany(metrics.map((m) => prefix + m));
      for (const m of metrics) {
        const want = expected.filter(([name]) => name === m).map(([, v, t]) => [t, v]);
        assert.deepEqual(stored.get(prefix + m), want, `${prefix}${m} in whisper`);
      }
    }

    // collectd's load and memory metrics, through each program's UDP port.
    for (const prefix of ['site1.', '']) {
      await carbon.waitForMetric(`${prefix}collectd.udphost.load.load.shortterm`, 30_000);
      await carbon.waitForMetric(`${prefix}collectd.udphost.memory.memory-used`, 30_000);
      const used = await carbon.fetch(`${prefix}collectd.udphost.memory.memory-used`);
      assert.ok(used.length > 0 && used.every(([, v]) => v > 0), `${prefix}collectd memory-used has positive values`);
    }
    for (const p of [proxy, relay]) {
      assert.equal(await scrapeCounter(p.statPort, 'polymur_pickle_frames_refused_total'), 0);
      assert.equal(await scrapeCounter(p.statPort, 'polymur_points_invalid_total'), 0);
      assert.ok((await scrapeCounter(p.statPort, 'polymur_udp_datagrams_total')) > 0);
    }
    console.log(
      `# ${expected.length} points through carbon-relay's pickle, on both paths exactly; collectd over UDP on both paths; carbon-cache holds ${carbon.storedMetrics().length} metrics`,
    );
  } finally {
    for (const stop of stops) await stop();
  }
});
