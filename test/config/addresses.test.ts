// Address flags: one parser for all of them, a bad one refused before anything starts (exit 2, the
// flag's name and the usage), `[::1]` accepted wherever an address is, and two spellings of one
// IPv6 destination treated as one destination.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { request } from 'node:https';
import { AddressError, canonicalHost, parseHost, parseHostPort } from '../../src/net/address.js';
import { DestinationError, parseDestinations } from '../../src/route/destination.js';
import { makeCert } from '../../harness/certs.js';
import { runToExit, startProgram, type ProgramName } from '../../harness/programs.js';
import { startTcpSink } from '../helpers/tcp-sink.js';

test('parseHostPort and parseHost: what Go would listen on, without brackets; the rest an AddressError', () => {
  assert.deepEqual(parseHostPort('[::1]:2003'), { host: '::1', port: 2003 });
  assert.deepEqual(parseHostPort(':2003'), { host: '::', port: 2003 });
  assert.deepEqual(parseHostPort('localhost:0'), { host: 'localhost', port: 0 });
  assert.deepEqual(parseHostPort('10.0.0.1:65535'), { host: '10.0.0.1', port: 65535 });
  for (const bad of ['2003', 'localhost', '::1:2003', '[::1]', '[127.0.0.1]:2003', '[nope]:1', 'a b:1', 'host:70000', 'host:-1', 'host:', '[::1]:2003x']) {
    assert.throws(() => parseHostPort(bad), AddressError, bad);
  }
  assert.equal(parseHost('[::1]'), '::1');
  assert.equal(parseHost('::1'), '::1');
  assert.equal(parseHost('0.0.0.0'), '0.0.0.0');
  assert.equal(parseHost('gw-1.example.com'), 'gw-1.example.com');
  assert.equal(parseHost(''), '::');
  for (const bad of ['0.0.0.0:443', '[::1]:443', 'gw.example.com:443', '[nope]', 'a/b']) assert.throws(() => parseHost(bad), AddressError, bad);
});

test('canonicalHost: every spelling of an IPv6 address is its shortest form; names compare case-blind', () => {
  assert.equal(canonicalHost('0:0:0:0:0:0:0:1'), '::1');
  assert.equal(canonicalHost('::0001'), '::1');
  assert.equal(canonicalHost('2001:DB8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
  assert.equal(canonicalHost('::ffff:127.0.0.1'), '::ffff:7f00:1');
  assert.equal(canonicalHost('fe80::0001%eth0'), 'fe80::1%eth0');
  assert.equal(canonicalHost('Carbon-A.example'), 'carbon-a.example');
  assert.equal(canonicalHost('10.0.0.1'), '10.0.0.1');
});

test('two spellings of one IPv6 destination are one destination; the ring keeps the host as written', () => {
  for (const distribution of ['broadcast', 'hash-route'] as const) {
    assert.throws(
      () => parseDestinations('[::1]:2003,[0:0:0:0:0:0:0:1]:2003', distribution),
      (e: unknown) => e instanceof DestinationError && /same host:port.*\(\[::1\]:2003\)/.test(e.message),
      distribution,
    );
  }
  assert.throws(() => parseDestinations('[::1]:2003:a,[0:0:0:0:0:0:0:1]:2003:a', 'hash-route'), DestinationError);
  // Distinct instances at one host:port stay distinct ring nodes, as in carbon.
  assert.equal(parseDestinations('[::1]:2003:a,[0:0:0:0:0:0:0:1]:2003:b', 'hash-route').length, 2);
  const [d] = parseDestinations('[0:0:0:0:0:0:0:1]:2003:a');
  assert.equal(d!.host, '0:0:0:0:0:0:0:1', 'ring node host unchanged (carbon hashes the string as written)');
  assert.equal(d!.endpoint, '[::1]:2003');
});

/** Every listening flag with a bad value, program by program: exit 2 before any listener or writer starts. */
const LOCAL = ['-stat-addr', '127.0.0.1:0', '-api-addr', '127.0.0.1:0'];
const cases: Array<[ProgramName, string, string[]]> = [
  ['proxy', 'listen-addr', ['-console-out', '-stat-addr', '127.0.0.1:0', '-listen-addr', '127.0.0.1']],
  ['proxy', 'listen-addr', ['-gateway', 'https://127.0.0.1:1', '-api-key', 'k', '-stat-addr', '127.0.0.1:0', '-listen-addr', '[nope]:0']],
  ['proxy', 'stat-addr', ['-console-out', '-listen-addr', '127.0.0.1:0', '-stat-addr', '127.0.0.1:99999']],
  ['relay', 'listen-addr', ['-console-out', ...LOCAL, '-listen-addr', 'no port']],
  ['relay', 'stat-addr', ['-console-out', '-listen-addr', '127.0.0.1:0', '-api-addr', '127.0.0.1:0', '-stat-addr', '::1:0']],
  ['relay', 'api-addr', ['-destinations', '127.0.0.1:2003', '-listen-addr', '127.0.0.1:0', '-stat-addr', '127.0.0.1:0', '-api-addr', 'localhost']],
  ['gateway', 'listen-addr', ['-dev-mode', '-console-out', ...LOCAL, '-listen-addr', '0.0.0.0:443']],
  ['gateway', 'stat-addr', ['-dev-mode', '-console-out', '-api-addr', '127.0.0.1:0', '-stat-addr', '[::1]']],
  ['gateway', 'api-addr', ['-dev-mode', '-destinations', '127.0.0.1:2003', '-stat-addr', '127.0.0.1:0', '-api-addr', ':x']],
];

for (const [program, flag, args] of cases) {
  test(`${program}: a bad -${flag} exits 2 with the flag's name and the usage, nothing started (${args.at(-1)})`, async () => {
    const r = await runToExit(program, args);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`invalid value for flag -${flag}: bad address "${args.at(-1)!.replace(/[[\]]/g, '\\$&')}"`));
    assert.match(r.stderr, /Usage of polymur/);
    assert.doesNotMatch(r.stderr + r.stdout, /started|Pinging|listener/i, 'nothing started before the check');
  });
}

test('relay: a duplicate destination spelt two ways exits 2, in broadcast and hash-route', async () => {
  for (const distribution of ['broadcast', 'hash-route']) {
    const r = await runToExit('relay', ['-listen-addr', '127.0.0.1:0', ...LOCAL, '-distribution', distribution, '-destinations', '[::1]:2003,[0:0:0:0:0:0:0:1]:2003']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /-destinations: destination \[0:0:0:0:0:0:0:1\]:2003 is the same host:port/);
  }
});

test('relay on [::1] everywhere: listens, routes to a [::1] destination, answers on its stat and API ports; a second spelling is refused by the API', async () => {
  const sink = await startTcpSink(0, '::1');
  const relay = startProgram('relay', [
    '-listen-addr',
    '[::1]:0',
    '-stat-addr',
    '[::1]:0',
    '-api-addr',
    '[::1]:0',
    '-destinations',
    `[::1]:${sink.port}`,
    '-flush-interval',
    '50ms',
  ]);
  try {
    const [listen, stat, api] = await Promise.all([
      relay.waitForLog(/Metrics listener started: \[::1\]:(\d+)/),
      relay.waitForLog(/Runstats started: \[::1\]:(\d+)/),
      relay.waitForLog(/API started: \[::1\]:(\d+)/),
    ]);
    const socket = connect(Number(listen[1]), '::1');
    await once(socket, 'connect');
    socket.end('v6.relay.m 1 1700000000\n');
    await sink.waitForLines(1, 10_000);
    assert.deepEqual(sink.lines, ['v6.relay.m 1 1700000000']);
    assert.equal((await fetch(`http://[::1]:${stat[1]}/healthz`)).status, 200);
    const twin = await fetch(`http://[::1]:${api[1]}/destinations`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: `[0:0:0:0:0:0:0:1]:${sink.port}` });
    assert.equal(twin.status, 400);
    assert.match(await twin.text(), /same host:port/);
  } finally {
    await relay.stop();
    await sink.close();
  }
});

test('gateway -listen-addr [::1] answers /ping on ::1, and a proxy on [::1] sends to https://[::1]:port through it', async () => {
  const cert = makeCert();
  const sink = await startTcpSink(0, '::1');
  const gateway = startProgram('gateway', [
    '-dev-mode',
    '-destinations',
    `[::1]:${sink.port}`,
    '-listen-addr',
    '[::1]',
    '-listen-https-port',
    '0',
    '-cert',
    cert.certPath,
    '-key',
    cert.keyPath,
    '-stat-addr',
    '[::1]:0',
    '-api-addr',
    '[::1]:0',
  ]);
  let proxy: ReturnType<typeof startProgram> | undefined;
  try {
    const [, port] = await gateway.waitForLog(/HTTPS listening on \[::1\]:(\d+)/);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        { host: '::1', servername: 'localhost', port: Number(port), path: '/ping', method: 'POST', headers: { 'X-Polymur-Key': '123' }, ca: cert.cert },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 200);

    proxy = startProgram('proxy', [
      '-gateway',
      `https://[::1]:${port}`,
      '-api-key',
      '123',
      '-cert',
      cert.certPath,
      '-listen-addr',
      '[::1]:0',
      '-stat-addr',
      '[::1]:0',
      '-flush-interval',
      '50ms',
    ]);
    const [, listen] = await proxy.waitForLog(/Metrics listener started: \[::1\]:(\d+)/);
    await proxy.waitForLog(/Connection to gateway https:\/\/\[::1\]:\d+ successful/);
    const socket = connect(Number(listen), '::1');
    await once(socket, 'connect');
    socket.end('v6.proxy.m 1 1700000000\n');
    await sink.waitForLines(1, 15_000);
    assert.deepEqual(sink.lines, ['v6.proxy.m 1 1700000000']);
  } finally {
    await proxy?.stop();
    await gateway.stop();
    await sink.close();
  }
});
