// hash-route in front of three real carbon-cache instances (a, b, c): every metric's whisper file
// is on exactly the instance carbon's own ring names, with the values sent; through the relay and
// through proxy -> gateway.
import { after, before, test } from 'node:test';
import { startCarbons, type Carbon } from '../helpers/carbon.js';
import { assertStoredOn, carbonPlacement } from '../helpers/carbon-ring.js';
import { openGraphiteStream } from '../helpers/graphite-stream.js';
import { startGateway, startProxy, startRelay, type ListenerProcess } from '../../harness/system.js';
import type { RunningProgram } from '../../harness/programs.js';

const METRICS = 300;
let carbons: Carbon[] = [];
let destinations: string[] = [];

before(async () => {
  carbons = await startCarbons(['a', 'b', 'c']);
  destinations = carbons.map((c, i) => `${c.address}:${'abc'[i]}`);
});

after(async () => {
  await Promise.all(carbons.map((c) => c.stop()));
});

/** Sends two points for each of METRICS names through `input` and checks where carbon stored them. */
async function sendAndCheck(input: ListenerProcess, prefix: string): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  const names = Array.from({ length: METRICS }, (_, i) => `${prefix}.host-${i % 17}.load.m${i}`);
  const points = (i: number): Array<[number, number]> => [
    [now - 20, i],
    [now - 10, i + 0.5],
  ];
  const stream = await openGraphiteStream(input.port);
  try {
    await stream.send(names.flatMap((name, i) => points(i).map(([t, v]) => `${name} ${v} ${t}`)));
  } finally {
    await stream.close();
  }
  const placement = await carbonPlacement({ destinations, names, hashType: 'carbon_ch' });
  const expected = new Map(names.map((name, i) => [name, placement[i]![0]!]));
  const index = new Map(names.map((name, i) => [name, i]));
  await assertStoredOn(carbons, expected, (m) => points(index.get(m)!));
}

async function stopAll(programs: Array<RunningProgram | undefined>): Promise<void> {
  for (const p of programs) await p?.stop();
}

test("relay hash-route: each metric is stored only on the carbon-cache instance carbon's ring names", async () => {
  const relay = await startRelay(['-destinations', destinations.join(','), '-distribution', 'hash-route', '-flush-interval', '50ms']);
  try {
    await sendAndCheck(relay, 'relayring');
  } finally {
    await stopAll([relay]);
  }
});

test("proxy -> gateway hash-route: each metric is stored only on the instance carbon's ring names", async () => {
  let gateway: RunningProgram | undefined;
  let proxy: ListenerProcess | undefined;
  try {
    const gw = await startGateway({ args: ['-destinations', destinations.join(','), '-distribution', 'hash-route'] });
    gateway = gw;
    proxy = await startProxy({ gateway: gw.url, cert: gw.cert, apiKey: '123', args: ['-flush-interval', '100ms'] });
    await sendAndCheck(proxy, 'gatewayring');
  } finally {
    await stopAll([proxy, gateway]);
  }
});
