// The log lines and answers people grep for, in the original's words (MIGRATING.md): real proxy,
// gateway and relay processes, a real TCP destination, the original's text API and /ping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { openGraphiteStream } from '../helpers/graphite-stream.js';
import { post } from '../helpers/https-post.js';
import { startGateway, startProxy, startRelay, writeKeyFile } from '../../harness/system.js';
import { startTcpSink } from '../helpers/tcp-sink.js';
import { textCommand } from '../helpers/text-command.js';

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function assertBefore(log: string, first: RegExp, then: RegExp): void {
  const a = log.search(first);
  const b = log.search(then);
  assert.ok(a !== -1 && b !== -1 && a < b, `${first} then ${then} in:\n${log}`);
}

test("proxy and gateway log the original's lines: banners, dev-mode, listening on, pool, a batch with its duration, 'Recieved batch from from' with -verbose only", async () => {
  const sink = await startTcpSink();
  let gateway: Awaited<ReturnType<typeof startGateway>> | undefined;
  let quiet: Awaited<ReturnType<typeof startGateway>> | undefined;
  let proxy: Awaited<ReturnType<typeof startProxy>> | undefined;
  try {
    gateway = await startGateway({ args: ['-destinations', sink.address, '-verbose'] });
    quiet = await startGateway({ cert: gateway.cert, args: ['-destinations', sink.address] });
    proxy = await startProxy({ gateway: gateway.url, cert: gateway.cert, args: ['-flush-interval', '50ms'] });
    const stream = await openGraphiteStream(proxy.port);
    await stream.send(Array.from({ length: 10 }, (_, i) => `migrate.m${i} ${i} 1700000000`));
    await stream.close();
    await sink.waitForLines(10);

    await gateway.waitForLog(/\[client 127\.0\.0\.1:\d+\] Recieved batch from from dev\n/);
    // Go's time.Duration format, as the original's `[worker #%d] %s [gateway] %s`.
    await proxy.waitForLog(/\[worker #\d+\] \d+(\.\d+)?(ns|µs|ms|s) \[gateway\] Batch Received\n/);
    assert.match(proxy.stderr(), /::: Polymur-proxy :::\n/);
    const log = gateway.stderr();
    assert.match(log, /::: Polymur-gateway :::\n/);
    assert.match(log, /Running in dev-mode: API-key set to '123'\n/);
    assert.match(log, /HTTPS listening on 127\.0\.0\.1:\d+\n/);
    assertBefore(log, new RegExp(`Registered destination ${escape(sink.address)}\n`), new RegExp(`Adding destination to connection pool: ${escape(sink.address)}\n`));

    // Without -verbose, a batch accepted leaves no line of its own.
    const body = gzipSync('migrate.quiet 1 1700000000\n');
    assert.deepEqual(await post(quiet.port, '/ingest', { 'x-polymur-key': '123' }, body, quiet.cert.cert).then((r) => [r.status, r.body]), [200, 'Batch Received\n']);
    await sink.waitForLines(11);
    assert.doesNotMatch(quiet.stderr(), /Recieved batch/);

    // /ping answers GET as the original's handler does (any method): 200 with the key, 401 without.
    const ping = async (headers: Record<string, string>): Promise<[number, string]> => {
      const r = await post(gateway!.port, '/ping', headers, Buffer.alloc(0), gateway!.cert.cert, { method: 'GET' });
      return [r.status, r.body];
    };
    assert.deepEqual(await ping({ 'x-polymur-key': '123' }), [200, 'key is valid\n']);
    assert.deepEqual(await ping({}), [401, 'invalid key']);

    assert.equal(await textCommand(gateway.apiPort, `deldest ${sink.address}`), `Unregistered destination: ${sink.address}\n`);
    await gateway.waitForLog(new RegExp(`Unregistered destination ${escape(sink.address)}\n.*Removing destination ${escape(sink.address)} from connection pool\n`));
  } finally {
    await proxy?.stop();
    await gateway?.stop();
    await quiet?.stop();
    await sink.close();
  }
});

test("a destination back after a restart is 'Reconnected to destination:', as the original says", async () => {
  let sink = await startTcpSink();
  const port = sink.port;
  const relay = await startRelay(['-destinations', sink.address, '-flush-interval', '50ms']);
  try {
    await relay.waitForLog(new RegExp(`Adding destination to connection pool: ${escape(sink.address)}\n`));
    await sink.close();
    sink = await startTcpSink(port);
    const stream = await openGraphiteStream(relay.port);
    await stream.send(['migrate.reconnect 1 1700000000']);
    await stream.close();
    await sink.waitForLines(1, 15_000);
    await relay.waitForLog(new RegExp(`Reconnected to destination: ${escape(sink.address)}\n`));
    assert.equal(relay.stderr().match(/Adding destination to connection pool/g)?.length, 1);
  } finally {
    await relay.stop();
    await sink.close();
  }
});

test('-console-out: the gateway opens -api-addr as the original; getdest shows no destinations, putdest is refused; the key sync logs its line', async () => {
  const gateway = await startGateway({ keyFile: writeKeyFile({ site: 'k'.repeat(24) }), args: ['-console-out'] });
  try {
    assert.deepEqual(JSON.parse(await textCommand(gateway.apiPort, 'getdest')), { active: [], registered: {} });
    assert.equal(await textCommand(gateway.apiPort, 'putdest 127.0.0.1:2003'), 'Error: -console-out: the output goes to the console, destinations cannot be added\n');
    assert.match(gateway.stderr(), /Running API key sync\n/);
  } finally {
    await gateway.stop();
  }
});
