// polymur-proxy -> polymur-gateway (real HTTPS, certificate made here) -> TCP sink, as real processes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { sendLoad } from '../../harness/load-generator.js';
import { delivery } from '../helpers/points.js';
import { startTcpSink } from '../helpers/tcp-sink.js';
import { startGateway, startProxy, writeKeyFile } from '../../harness/system.js';
import { runToExit } from '../../harness/programs.js';
import { sendText } from '../helpers/graphite-stream.js';
import { post } from '../helpers/https-post.js';

const KEY = 'e2e-test-key-0123456789abcdef';

test('1,000,000 points over 4 connections arrive exactly once, through real HTTPS', async () => {
  const sink = await startTcpSink();
  const keys = writeKeyFile({ site1: KEY });
  const gateway = await startGateway({ keyFile: keys, args: ['-destinations', sink.address, '-outgoing-queue-cap', '200000'] });
  const proxy = await startProxy({ gateway: gateway.url, cert: gateway.cert, apiKey: KEY, args: ['-verbose=false'] });
  try {
    await proxy.waitForLog(/Connection to gateway https:\/\/localhost:\d+ successful/);
    const points = 1_000_000;
    const connections = 4;
    const started = Date.now();
    const { sent } = await sendLoad({ port: proxy.port, connections, points });
    await sink.waitForLines(points, 120_000);
    const seconds = (Date.now() - started) / 1000;
    const d = delivery(sink.lines, connections, points);
    process.stdout.write(`# 1M run: sent ${sent}, arrived ${d.arrived}, missing ${d.missing}, duplicated ${d.duplicated}, ${seconds.toFixed(1)} s\n`);
    assert.equal(sent, points);
    assert.deepEqual([d.missing, d.duplicated, d.distinct], [0, 0, points]);
  } finally {
    await proxy.stop();
    await gateway.stop();
    await sink.close();
  }
});

test('the proxy exits non-zero with the gateway message when its key is wrong', async () => {
  const keys = writeKeyFile({ site1: KEY });
  const gateway = await startGateway({ keyFile: keys, args: ['-console-out'] });
  try {
    const result = await runToExit('proxy', [
      '-gateway',
      gateway.url,
      '-cert',
      gateway.cert.certPath,
      '-api-key',
      'not-the-key',
      '-listen-addr',
      '127.0.0.1:0',
      '-stat-addr',
      '127.0.0.1:0',
    ]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /invalid key/);
  } finally {
    await gateway.stop();
  }
});

test('an untrusted gateway certificate is not accepted without -cert', async () => {
  const gateway = await startGateway({ args: ['-console-out'] });
  const proxy = await startProxy({ gateway: gateway.url, apiKey: '123' });
  try {
    await proxy.waitForLog(/certificate|self.signed|unable to verify/i);
    assert.doesNotMatch(proxy.stderr(), /successful/);
  } finally {
    await proxy.stop();
    await gateway.stop();
  }
});

test('raw HTTP against the gateway process: 200, 401, 400, 413 exactly as specified; -key-prefix', async () => {
  const sink = await startTcpSink();
  const keys = writeKeyFile({ site1: KEY });
  const gateway = await startGateway({
    keyFile: keys,
    args: ['-destinations', sink.address, '-key-prefix', '-max-batch-bytes', '100000'],
  });
  const ca = gateway.cert.cert;
  try {
    const ping = await post(gateway.port, '/ping', { 'X-Polymur-Key': KEY }, Buffer.alloc(0), ca);
    assert.deepEqual([ping.status, ping.body], [200, 'key is valid\n']);
    const badPing = await post(gateway.port, '/ping', { 'X-Polymur-Key': 'nope' }, Buffer.alloc(0), ca);
    assert.deepEqual([badPing.status, badPing.body], [401, 'invalid key']);

    // The original proxy sends no Content-Encoding.
    const ok = await post(gateway.port, '/ingest', { 'X-Polymur-Key': KEY }, gzipSync('a.b 1 1700000000\nbad line\n'), ca);
    assert.deepEqual([ok.status, ok.body], [200, 'Batch Received\n']);
    const withHeader = await post(gateway.port, '/ingest', { 'X-Polymur-Key': KEY, 'Content-Encoding': 'gzip' }, gzipSync('a.c 2 1700000000\n'), ca);
    assert.equal(withHeader.status, 200);
    // The proxy joins queued batches by concatenating their gzip members: one body, two members.
    const members = Buffer.concat([gzipSync('a.d 3 1700000000\n'), gzipSync('a.e 4 1700000000\n')]);
    const joined = await post(gateway.port, '/ingest', { 'X-Polymur-Key': KEY }, members, ca);
    assert.deepEqual([joined.status, joined.body], [200, 'Batch Received\n']);
    const wrongKey = await post(gateway.port, '/ingest', { 'X-Polymur-Key': 'nope' }, gzipSync('a.b 1 1700000000\n'), ca);
    assert.deepEqual([wrongKey.status, wrongKey.body], [401, 'invalid key']);
    for (const body of [Buffer.alloc(0), Buffer.from('not gzip at all'), gzipSync('a.b 1 1700000000\n').subarray(0, 12)]) {
      const malformed = await post(gateway.port, '/ingest', { 'X-Polymur-Key': KEY }, body, ca);
      assert.deepEqual([malformed.status, malformed.body], [400, 'Batch Malformed\n'], `body of ${body.length} bytes`);
    }
    const big = await post(gateway.port, '/ingest', { 'X-Polymur-Key': KEY }, gzipSync(Buffer.alloc(1_000_000, 'a.b 1 1700000000\n')), ca);
    assert.equal(big.status, 413);

    await sink.waitForLines(4);
    assert.deepEqual([...sink.lines].sort(), ['site1.a.b 1 1700000000', 'site1.a.c 2 1700000000', 'site1.a.d 3 1700000000', 'site1.a.e 4 1700000000']);
  } finally {
    await gateway.stop();
    await sink.close();
  }
});

test('-console-out on the proxy prints the batches; on the gateway prints the points', async () => {
  const proxy = await startProxy({ args: ['-console-out', '-flush-interval', '50ms'] });
  const gateway = await startGateway({ args: ['-console-out'] });
  try {
    await sendText(proxy.port, 'console.proxy 1 1700000000\nconsole.proxy 2 1700000001');
    await proxy.waitForStdout(/console\.proxy 1 1700000000\nconsole\.proxy 2 1700000001\n/);
    const res = await post(gateway.port, '/ingest', { 'X-Polymur-Key': '123' }, gzipSync('console.gw 3 1700000002\n'), gateway.cert.cert);
    assert.equal(res.status, 200);
    await gateway.waitForStdout(/console\.gw 3 1700000002\n/);
  } finally {
    await proxy.stop();
    await gateway.stop();
  }
});

test('SIGTERM on the proxy delivers what is batched before it exits 0', async () => {
  const sink = await startTcpSink();
  const gateway = await startGateway({ args: ['-destinations', sink.address] });
  const proxy = await startProxy({ gateway: gateway.url, cert: gateway.cert, args: ['-flush-interval', '1h'] });
  try {
    await proxy.waitForLog(/successful/);
    await sendText(proxy.port, 'shutdown.a 1 1700000000\nshutdown.b 2 1700000000\n');
    // The original's wording; the interval is the one measured (5.00s, or a little more on a busy machine).
    await proxy.waitForLog(/Last 5\.\d\ds: Received 2 data points \| Avg: 0\.\d\d\/sec\./, 10_000);
    const exit = await proxy.stop('SIGTERM');
    assert.equal(exit.code, 0);
    await sink.waitForLines(2);
    assert.deepEqual([...sink.lines].sort(), ['shutdown.a 1 1700000000', 'shutdown.b 2 1700000000']);
  } finally {
    await proxy.stop();
    await gateway.stop();
    await sink.close();
  }
});
