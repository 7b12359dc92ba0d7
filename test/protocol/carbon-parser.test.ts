// Our validation beside carbon's own line parser: each line goes through Debian's carbon 1.1
// (MetricLineReceiver.lineReceived and metricReceived, the code carbon-cache runs per line) in a
// Python subprocess, and through filterLines. They agree on every line except the deliberate
// differences listed here with their reason (MIGRATING.md, "Values"); and 1_000 through a relay
// into a real carbon-cache, stored as 1000.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { filterLines } from '../../src/protocol/lines.js';
import { startCarbon } from '../helpers/carbon.js';
import { sendText } from '../helpers/graphite-stream.js';
import { scrapeCounter } from '../helpers/points.js';
import { startRelay } from '../../harness/system.js';

// Per line: what carbon hands on to its cache ([name, value, timestamp] as Python's repr), or null
// when it drops it (an exception out of metricReceived, e.g. int(inf), drops it too).
const CARBON_PARSE = `
import json, sys
from carbon import events
from carbon.protocols import MetricLineReceiver

stored = []
events.metricReceived.handlers[:] = [lambda metric, datapoint: stored.append([metric, repr(datapoint[1]), repr(datapoint[0])])]
receiver = MetricLineReceiver()
receiver.peerName = 'test'
out = []
for line in json.load(sys.stdin):
    del stored[:]
    try:
        receiver.lineReceived(line.encode('utf-8'))
    except Exception:
        pass
    out.append(stored[0] if stored else None)
json.dump(out, sys.stdout)
`;

function carbonParses(lines: readonly string[]): Array<[string, string, string] | null> {
  // Debian's carbon is a module of /usr/bin/python3, not of whatever python3 is first on PATH.
  const out = execFileSync('/usr/bin/python3', ['-c', CARBON_PARSE], { input: JSON.stringify(lines), env: { ...process.env, PYTHONIOENCODING: 'utf-8' } });
  return JSON.parse(out.toString()) as Array<[string, string, string] | null>;
}

function weForward(line: string): boolean {
  const buf = Buffer.from(`${line}\n`, 'utf8');
  return filterLines(buf, 0, buf.length).points === 1;
}

const VALUES = [
  '1',
  '-1',
  '+1',
  '-0',
  '1.5',
  '.5',
  '5.',
  '1e3',
  '1E-3',
  ' 1',
  '007',
  '1e308',
  '1e-999',
  '9'.repeat(308),
  '1_000',
  '-1_000.000_5',
  '1e1_0',
  'nan',
  'NaN',
  '-nan',
  '0x10',
  '0b1',
  '1,5',
  '1f',
  'x',
  '1__0',
  '_1',
  '1_',
  '1_.5',
  '1._5',
  'inf',
  '-inf',
  '+inf',
  'INF',
  'Infinity',
  '-infinity',
  '1e999',
  '-1e999',
  '9'.repeat(400),
  '\u0661\u0662\u0663',
  '\uff11\uff12',
];
const TIMESTAMPS = ['1700000000', '1700000000.5', '+1700000000', '-1', '0', '1_700_000_000', '4294967295', 'nan', 'inf', 'x', '-2', '4294967296', '1e10'];

/** Lines carbon stores and we drop, on purpose. */
const DELIBERATE: ReadonlyMap<string, string> = new Map([
  ...['inf', '-inf', '+inf', 'INF', 'Infinity', '-infinity', '1e999', '-1e999', '9'.repeat(400)].map(
    (v) => [`a.b ${v} 1700000000`, 'an infinite value: graphite cannot draw or sum it, and it stays in whisper for the retention'] as const,
  ),
  ...['\u0661\u0662\u0663', '\uff11\uff12'].map((v) => [`a.b ${v} 1700000000`, 'digits other than ASCII: other Graphite backends read them as garbage'] as const),
  ...['-2', '4294967296', '1e10'].map((v) => [`a.b 1 ${v}`, 'a timestamp whisper cannot store (unsigned 32-bit) or before 1970'] as const),
]);

test("carbon's own parser and ours agree on values and timestamps, except the listed deliberate differences", () => {
  const lines = [...VALUES.map((v) => `a.b ${v} 1700000000`), ...TIMESTAMPS.map((t) => `a.b 1 ${t}`)];
  const carbon = carbonParses(lines);
  // The reference itself, so a carbon upgrade that changes its mind shows here: 1_000 and inf are stored, nan is not.
  assert.deepEqual(carbon[VALUES.indexOf('1_000')], ['a.b', '1000.0', '1700000000.0']);
  assert.deepEqual(carbon[VALUES.indexOf('inf')], ['a.b', 'inf', '1700000000.0']);
  assert.equal(carbon[VALUES.indexOf('nan')], null);
  const disagreements: string[] = [];
  lines.forEach((line, i) => {
    const stored = carbon[i] !== null;
    const ours = weForward(line);
    const expected = DELIBERATE.has(line) ? false : stored;
    if (DELIBERATE.has(line) && !stored) disagreements.push(`${JSON.stringify(line)}: listed as deliberate, but carbon drops it too`);
    if (ours !== expected) disagreements.push(`${JSON.stringify(line)}: carbon ${stored ? `stores ${JSON.stringify(carbon[i])}` : 'drops it'}, we ${ours ? 'forward' : 'drop'} it`);
  });
  assert.deepEqual(disagreements, []);
});

test('through a relay into a real carbon-cache: 1_000 is stored as 1000, an infinite value is dropped before carbon', async () => {
  const carbon = await startCarbon();
  const relay = await startRelay(['-destinations', carbon.address, '-flush-interval', '50ms']);
  try {
    const now = Math.floor(Date.now() / 1000) - 5;
    await sendText(relay.port, `migrate.grouped 1_000 ${now}\nmigrate.infinite inf ${now}\nmigrate.plain 7 ${now}\n`);
    await carbon.waitForMetric('migrate.grouped', 30_000);
    await carbon.waitForMetric('migrate.plain', 30_000);
    const stored = await carbon.fetchMany(['migrate.grouped', 'migrate.plain']);
    assert.deepEqual([stored.get('migrate.grouped'), stored.get('migrate.plain')], [[[now, 1000]], [[now, 7]]]);
    assert.equal(await scrapeCounter(relay.statPort, 'polymur_points_invalid_total'), 1);
    assert.ok(!carbon.storedMetrics().includes('migrate.infinite'), 'no whisper file for the infinite value');
  } finally {
    await relay.stop();
    await carbon.stop();
  }
});
