// Destinations changed at run time on -api-addr while a client keeps streaming: the original's text
// commands (putdest, deldest, getdest) and the HTTP JSON API change where new points go (as carbon's
// ring over the new set says) and getdest shows the change; a bad address gets a clear error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort } from '../helpers/carbon.js';
import { carbonPlacement } from '../helpers/carbon-ring.js';
import { scrape } from '../helpers/prometheus.js';
import { openGraphiteStream, type GraphiteStream } from '../helpers/graphite-stream.js';
import { until } from '../helpers/points.js';
import { startRelay, type RelayProcess } from '../../harness/system.js';
import { textCommand } from '../helpers/text-command.js';
import { startTcpSink, type TcpSink } from '../helpers/tcp-sink.js';

const PER_PHASE = 300;
/** A fetch with a string body says text/plain, which the API refuses as a browser form's type. */
const JSON_TYPE = { 'content-type': 'application/json' };

interface Destinations {
  active: string[];
  registered: Record<string, string>;
}

test('putdest / deldest (text and HTTP) during a stream move new points; getdest shows it; bad addresses are refused', async () => {
  const sinks: TcpSink[] = [];
  let relay: RelayProcess | undefined;
  let stream: GraphiteStream | undefined;
  try {
    for (let i = 0; i < 3; i++) sinks.push(await startTcpSink());
    const [a, b, c] = sinks.map((s, i) => `${s.address}:${'abc'[i]}`) as [string, string, string];
    relay = await startRelay(['-destinations', `${a},${b}`, '-distribution', 'hash-route', '-flush-interval', '50ms']);
    const api = relay.apiPort;
    stream = await openGraphiteStream(relay.port);

    /** Sends a phase of names and checks each arrived only at the sink carbon's ring over `ring` names. */
    const phase = async (label: string, ring: string[]): Promise<void> => {
      const names = Array.from({ length: PER_PHASE }, (_, i) => `api.${label}.m${i}`);
      const before = sinks.map((s) => s.lines.length);
      await stream!.send(names.map((n, i) => `${n} ${i} 1700000000`));
      await until(`${label}: all points delivered`, () => sinks.reduce((n, s, i) => n + s.lines.length - before[i]!, 0) >= PER_PHASE, 15_000);
      const placement = await carbonPlacement({ destinations: ring, names, hashType: 'carbon_ch' });
      const got = new Map<string, string[]>();
      sinks.forEach((s, i) => {
        for (const line of s.lines.slice(before[i])) {
          const name = line.split(' ')[0]!;
          got.set(name, [...(got.get(name) ?? []), [a, b, c][i]!]);
        }
      });
      const wrong = names.filter((n, i) => got.get(n)?.join() !== ring[placement[i]![0]!]);
      assert.deepEqual(
        wrong.slice(0, 5).map((n) => `${n} at ${got.get(n)}`),
        [],
        `${label}: ${wrong.length} points misplaced`,
      );
    };

    await phase('start', [a, b]);

    assert.equal(await textCommand(api, `putdest ${c}`), `Registered destination: ${c}\n`);
    await until('c connected', async () => (JSON.parse(await textCommand(api, 'getdest')) as Destinations).active.includes(c), 10_000);
    const afterPut = JSON.parse(await textCommand(api, 'getdest')) as Destinations;
    assert.deepEqual(Object.keys(afterPut).sort(), ['active', 'registered']);
    assert.deepEqual(Object.keys(afterPut.registered).sort(), [a, b, c].sort());
    assert.ok(
      Object.values(afterPut.registered).every((t) => !Number.isNaN(Date.parse(t))),
      'registered maps to times',
    );
    await phase('added', [a, b, c]);

    const del = await fetch(`http://127.0.0.1:${api}/destinations/${encodeURIComponent(a)}`, { method: 'DELETE' });
    assert.equal(del.status, 200);
    assert.deepEqual(Object.keys(((await del.json()) as Destinations).registered).sort(), [b, c].sort());
    const listed = (await (await fetch(`http://127.0.0.1:${api}/destinations`)).json()) as Destinations;
    assert.deepEqual(Object.keys(listed.registered).sort(), [b, c].sort());
    assert.deepEqual(listed.active.sort(), [b, c].sort());
    await phase('removed', [b, c]);

    // HTTP put of the one removed: it is back in the ring.
    const put = await fetch(`http://127.0.0.1:${api}/destinations`, { method: 'PUT', headers: JSON_TYPE, body: JSON.stringify({ destination: a }) });
    assert.equal(put.status, 200);
    await until('a connected again', async () => (JSON.parse(await textCommand(api, 'getdest')) as Destinations).active.includes(a), 10_000);
    await phase('readded', [b, c, a]);

    // Clear refusals in the original's words (MIGRATING.md), nothing changed by them.
    assert.equal(await textCommand(api, 'putdest 127.0.0.1'), 'Destination 127.0.0.1 not valid: expected host:port or host:port:instance, e.g. 10.0.0.1:2003:a\n');
    assert.match(await textCommand(api, 'putdest 127.0.0.1:99999:x'), /^Destination 127\.0\.0\.1:99999:x not valid: /);
    assert.match(await textCommand(api, 'deldest 127.0.0.1'), /^Destination 127\.0\.0\.1 not valid: /);
    // Already registered: it is, as asked (the original's reply); nothing registered twice.
    assert.equal(await textCommand(api, `putdest ${b}`), `Registered destination: ${b}\n`);
    assert.equal(await textCommand(api, 'deldest 127.0.0.1:1:zz'), 'Error: destination 127.0.0.1:1:zz is not registered\n');
    assert.equal(await textCommand(api, 'frobnicate now'), 'Not a command: frobnicate\n');
    assert.equal(await textCommand(api, `putdest ${b} ${c}`), 'Error: putdest takes one destination\n');
    assert.equal(await textCommand(api, 'putdest'), 'Must provide destination\n');
    const bad = await fetch(`http://127.0.0.1:${api}/destinations`, { method: 'PUT', headers: JSON_TYPE, body: JSON.stringify({ destination: 'no port' }) });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /bad destination "no port"/);
    const notJson = await fetch(`http://127.0.0.1:${api}/destinations`, { method: 'PUT', headers: JSON_TYPE, body: '{"destination":' });
    assert.equal(notJson.status, 400);
    const badEscape = await fetch(`http://127.0.0.1:${api}/destinations/127.0.0.1%3A1%3Gx`, { method: 'DELETE' });
    assert.equal(badEscape.status, 400);
    const after = JSON.parse(await textCommand(api, 'getdest')) as Destinations;
    assert.deepEqual(Object.keys(after.registered).sort(), [a, b, c].sort());
  } finally {
    await stream?.close();
    await relay?.stop();
    for (const s of sinks) await s.close();
  }
});

test('broadcast deldest of a destination that is down: it takes no new points, keeps its queue and leaves once it is written', async () => {
  const sink = await startTcpSink();
  const downPort = await freePort();
  const down = `127.0.0.1:${downPort}`;
  const escaped = down.replace(/\./g, '\\.');
  let relay: RelayProcess | undefined;
  let late: TcpSink | undefined;
  try {
    relay = await startRelay(['-destinations', `${sink.address},${down}`, '-flush-interval', '50ms']);
    const stream = await openGraphiteStream(relay.port);
    const lines = (from: number, n: number): string[] => Array.from({ length: n }, (_, i) => `deldest.m${from + i} ${from + i} 1700000000`);
    await stream.send(lines(0, 100));
    await sink.waitForLines(100);
    await until('100 points queued for the down destination', async () => (await scrape(relay!.statPort)).value('polymur_queue_points', { destination: down }) === 100, 10_000);

    assert.equal(await textCommand(relay.apiPort, `deldest ${down}`), `Unregistered destination: ${down}\n`);
    await relay.waitForLog(new RegExp(`Destination ${escaped} takes no new data points; it is unregistered once its 100 queued data points are written`));
    await stream.send(lines(100, 50));
    await sink.waitForLines(150);
    await stream.close();
    const m = await scrape(relay.statPort);
    assert.equal(m.value('polymur_queue_points', { destination: down }), 100, 'nothing new was queued for it, nothing discarded');

    late = await startTcpSink(downPort);
    await late.waitForLines(100, 15_000);
    await relay.waitForLog(new RegExp(`Unregistered destination ${escaped}\\n`), 15_000);
    await until('nothing more arrives', async () => (await scrape(relay!.statPort)).samples('polymur_queue_points').length === 1, 5_000);
    assert.deepEqual(late.lines, lines(0, 100), 'the deleted destination got what it held, and nothing sent after deldest');
    const after = await scrape(relay.statPort);
    assert.deepEqual(
      after.samples('polymur_queue_points').map((s) => s.labels?.destination),
      [sink.address],
    );
    assert.deepEqual(Object.keys((JSON.parse(await textCommand(relay.apiPort, 'getdest')) as Destinations).registered), [sink.address]);
  } finally {
    await relay?.stop();
    await sink.close();
    await late?.close();
  }
});
