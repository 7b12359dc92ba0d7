// The destination API (-api-addr) changes where every point goes, so a web page open in a browser
// on the host must not reach it: requests a browser would send (Origin, Sec-Fetch-*, form content
// types; made here with the same headers) get 403, and with -api-token every request needs the
// token (HTTP Bearer, text `auth TOKEN COMMAND`). A real relay streams well-behaved points all the
// while and loses none; the attacker's destination never gets registered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sendLoad } from '../../harness/load-generator.js';
import { assertLoadDelivered } from '../helpers/points.js';
import { startRelay } from '../../harness/system.js';
import { textCommand } from '../helpers/text-command.js';
import { startTcpSink } from '../helpers/tcp-sink.js';

const TOKEN = 'api-token-0123456789abcdef';
const JSON_TYPE = { 'content-type': 'application/json' };

interface Destinations {
  active: string[];
  registered: Record<string, string>;
}

async function status(port: number, path: string, init: RequestInit): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, init);
  await res.arrayBuffer();
  return res.status;
}

test('browser requests get 403 and requests without -api-token 401 while the relay streams; text commands need `auth TOKEN`', async () => {
  const sink = await startTcpSink();
  const evil = await startTcpSink();
  const legit = await startTcpSink();
  const relay = await startRelay(['-destinations', sink.address, '-flush-interval', '50ms', '-api-token', TOKEN]);
  try {
    const api = relay.apiPort;
    const sending = sendLoad({ port: relay.port, connections: 2, points: 20_000, ratePerSecond: 5_000 });
    await sink.waitForLines(500);
    const auth = { authorization: `Bearer ${TOKEN}` };
    const body = JSON.stringify({ destination: evil.address });
    // What a page's fetch(), form or <img> sends; some even carry the right token, which must not help.
    const browser = {
      corsPut: await status(api, '/destinations', { method: 'PUT', headers: { ...JSON_TYPE, ...auth, origin: 'http://evil.example' }, body }),
      corsDelete: await status(api, `/destinations/${encodeURIComponent(sink.address)}`, { method: 'DELETE', headers: { origin: 'null' } }),
      formUrlencoded: await status(api, '/destinations', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `destination=${evil.address}` }),
      formMultipart: await status(api, '/destinations', {
        method: 'POST',
        headers: { 'content-type': 'multipart/form-data; boundary=x', ...auth },
        body: `--x\r\nContent-Disposition: form-data; name="destination"\r\n\r\n${evil.address}\r\n--x--\r\n`,
      }),
      formTextPlain: await status(api, '/destinations', { method: 'POST', headers: { 'content-type': 'text/plain', ...auth }, body: evil.address }),
      imgGet: await status(api, '/destinations', { headers: { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'image', ...auth } }),
      rebindingGet: await status(api, '/destinations', { headers: { 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors', ...auth } }),
    };
    const tokens = {
      none: await status(api, '/destinations', { method: 'PUT', headers: JSON_TYPE, body }),
      wrong: await status(api, '/destinations', { method: 'PUT', headers: { ...JSON_TYPE, authorization: `Bearer ${TOKEN}x` }, body }),
      noneGet: await status(api, '/destinations', {}),
      right: await status(api, '/destinations', { method: 'PUT', headers: { ...JSON_TYPE, ...auth }, body: JSON.stringify({ destination: legit.address }) }),
      rightGet: await status(api, '/destinations', { headers: auth }),
    };
    assert.deepEqual(browser, { corsPut: 403, corsDelete: 403, formUrlencoded: 403, formMultipart: 403, formTextPlain: 403, imgGet: 403, rebindingGet: 403 });
    assert.deepEqual(tokens, { none: 401, wrong: 401, noneGet: 401, right: 200, rightGet: 200 });

    const refusal = 'Error: this API needs its token: auth TOKEN COMMAND\n';
    assert.equal(await textCommand(api, `putdest ${evil.address}`), refusal);
    assert.equal(await textCommand(api, `auth ${TOKEN}x putdest ${evil.address}`), refusal);
    assert.equal(await textCommand(api, `deldest ${sink.address}`), refusal);
    const listed = JSON.parse(await textCommand(api, `auth ${TOKEN} getdest`)) as Destinations;
    assert.deepEqual(Object.keys(listed.registered).sort(), [sink.address, legit.address].sort());
    await relay.waitForLog(/\[api 127\.0\.0\.1:\d+\] PUT \/destinations refused: an Origin header/);

    await sending;
    await assertLoadDelivered({
      name: 'destination API',
      figures: `browser-shaped requests ${JSON.stringify(browser)}, token checks ${JSON.stringify(tokens)}, 3 text commands without the token refused; the attacker's destination got ${evil.lines.length} lines`,
      sink,
      connections: 2,
      points: 20_000,
      program: 'relay',
      pid: relay.proc.pid!,
      maxRssMb: 200,
    });
    assert.equal(evil.lines.length, 0);
  } finally {
    await relay.stop();
    for (const s of [sink, evil, legit]) await s.close();
  }
});

test('without -api-token: browser requests still get 403, a plain client changes destinations as before', async () => {
  const sink = await startTcpSink();
  const other = await startTcpSink();
  const relay = await startRelay(['-destinations', sink.address]);
  try {
    const body = JSON.stringify({ destination: other.address });
    const fromPage = await status(relay.apiPort, '/destinations', { method: 'PUT', headers: { ...JSON_TYPE, origin: 'http://localhost:8080' }, body });
    const fromCurl = await status(relay.apiPort, '/destinations', { method: 'PUT', headers: JSON_TYPE, body });
    assert.deepEqual({ fromPage, fromCurl }, { fromPage: 403, fromCurl: 200 });
    assert.equal(await textCommand(relay.apiPort, `deldest ${other.address}`), `Unregistered destination: ${other.address}\n`);
  } finally {
    await relay.stop();
    await sink.close();
    await other.close();
  }
});
