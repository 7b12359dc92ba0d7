// The proxy's own configuration, with real processes: -api-key-file (refused unless only its owner
// may read it; the key then stays out of the process list), a warning for plain http:// to a host
// that is not loopback, and a gateway certificate the proxy does not trust named as such (with
// the verification error), not as "unreachable".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { plainHttpWarnings } from '../../src/config/proxy-config.js';
import { makeCert } from '../../harness/certs.js';
import { sendText } from '../helpers/graphite-stream.js';
import { runToExit, startProgram } from '../../harness/programs.js';
import { scrapeCounter, until } from '../helpers/points.js';
import { startGateway, startProxy, writeKeyFile } from '../../harness/system.js';
import { startTcpSink } from '../helpers/tcp-sink.js';

const KEY = 'config-key-0123456789abcdef0123456789';
const FAST_RETRY = ['-timeout', '2s', '-max-retry-delay', '1s', '-flush-interval', '100ms', '-verbose=false'];

function keyFile(mode: number): string {
  const path = join(mkdtempSync(join(tmpdir(), 'polymur-apikey-')), 'api-key');
  writeFileSync(path, `${KEY}\n`);
  chmodSync(path, mode);
  return path;
}

test('-api-key-file: a file others may read is refused with exit 2; with mode 0600 the key works and is not in the process list', async () => {
  const base = ['-listen-addr', '127.0.0.1:0', '-stat-addr', '127.0.0.1:0', '-gateway', 'https://localhost:1'];
  for (const mode of [0o644, 0o640, 0o604]) {
    const path = keyFile(mode);
    const r = await runToExit('proxy', [...base, '-api-key-file', path]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`-api-key-file: ${path}: mode 0${mode.toString(8)} lets other users read the key; allow its owner only \\(chmod 600 `));
    assert.doesNotMatch(r.stderr, /Metrics listener started/);
  }
  const both = await runToExit('proxy', [...base, '-api-key-file', keyFile(0o600), '-api-key', KEY]);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /give -api-key or -api-key-file, not both/);
  const missing = await runToExit('proxy', [...base, '-api-key-file', '/nonexistent/api-key']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /-api-key-file: \/nonexistent\/api-key: no such file/);

  const sink = await startTcpSink();
  const gateway = await startGateway({ keyFile: writeKeyFile({ site1: KEY }), args: ['-destinations', sink.address] });
  const path = keyFile(0o600);
  const proxy = await startProxy({ cert: gateway.cert, args: [...FAST_RETRY, '-gateway', gateway.url, '-api-key-file', path] });
  try {
    await proxy.waitForLog(/Connection to gateway \S+ successful/);
    await sendText(proxy.port, 'keyfile.works 1 1700000000\n');
    await sink.waitForLines(1);
    assert.deepEqual(sink.lines, ['keyfile.works 1 1700000000']);
    const ps = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
    const own = ps.split('\n').find((l) => l.trim().startsWith(`${proxy.proc.pid} `));
    assert.ok(own?.includes(path), `ps shows the proxy with its key file: ${own}`);
    assert.ok(!ps.includes(KEY), 'the key is nowhere in ps');
    assert.doesNotMatch(proxy.stderr(), /WARNING/, 'https:// raises no warning');
    process.stdout.write(
      `# -api-key-file: modes 0644, 0640, 0604 refused with exit 2; 0600 accepted, 1 point sent, 1 arrived; key absent from ps (${ps.split('\n').length} lines)\n`,
    );
  } finally {
    await proxy.stop();
    await gateway.stop();
    await sink.close();
  }
});

test('a key the gateway refuses at the start-up ping: exit 1 with the message', async () => {
  const gateway = await startGateway({ keyFile: writeKeyFile({ site1: KEY }), args: ['-console-out'] });
  try {
    const proxy = startProgram('proxy', [
      '-listen-addr',
      '127.0.0.1:0',
      '-stat-addr',
      '127.0.0.1:0',
      '-gateway',
      gateway.url,
      '-cert',
      gateway.cert.certPath,
      '-api-key',
      'not-a-known-key',
    ]);
    const exit = await proxy.exited;
    assert.equal(exit.code, 1, proxy.stderr());
    assert.match(proxy.stderr(), /Gateway https:\/\/localhost:\d+ refused the API key: invalid key/);
  } finally {
    await gateway.stop();
  }
});

test('plain http:// to a host that is not loopback: a warning at start; loopback and https:// raise none', async () => {
  const rows: Array<[string, number]> = [
    ['http://gateway.example.com:2005', 1],
    ['http://10.1.2.3', 1],
    ['http://127.0.0.1:2005', 0],
    ['http://127.1.2.3', 0],
    ['http://localhost:2005/base', 0],
    ['http://[::1]:2005', 0],
    ['https://gateway.example.com', 0],
  ];
  for (const [url, warnings] of rows) assert.equal(plainHttpWarnings([url]).length, warnings, url);
  // The real program logs it: a .invalid name (RFC 6761) never resolves, so nothing leaves the machine.
  const proxy = startProgram('proxy', [
    '-listen-addr',
    '127.0.0.1:0',
    '-stat-addr',
    '127.0.0.1:0',
    '-gateway',
    'http://gateway.invalid:2005',
    '-api-key',
    'k',
    '-shutdown-timeout',
    '1s',
  ]);
  try {
    await proxy.waitForLog(
      /WARNING: -gateway http:\/\/gateway\.invalid:2005 is plain http:\/\/ to a host that is not loopback: the API key and the metrics cross the network unencrypted; use https:\/\//,
    );
    await proxy.waitForLog(/Metrics listener started/);
  } finally {
    await proxy.stop();
  }
});

test('a gateway certificate the proxy does not trust: logged as a certificate verification failure with its error code, the data kept', async () => {
  const sink = await startTcpSink();
  const gateway = await startGateway({ args: ['-dev-mode', '-destinations', sink.address] });
  // -cert names another certificate than the gateway's.
  const proxy = await startProxy({ gateway: gateway.url, cert: makeCert(), args: [...FAST_RETRY, '-shutdown-timeout', '1s'] });
  try {
    const ping = await proxy.waitForLog(/Gateway \S+ is not trusted \((\w+): TLS certificate verification failed: [^)]+\); check -cert\. Data is queued meanwhile/);
    assert.equal(ping[1], 'DEPTH_ZERO_SELF_SIGNED_CERT');
    assert.doesNotMatch(proxy.stderr(), /unreachable/);
    await sendText(proxy.port, 'untrusted.kept 1 1700000000\n');
    await proxy.waitForLog(/sending to \S+ failed \(DEPTH_ZERO_SELF_SIGNED_CERT: TLS certificate verification failed: [^)]+\); retry 1 in/);
    await until('failures counted by code', async () => (await scrapeCounter(proxy.statPort, 'polymur_send_failures_total')) >= 1);
    const metrics = await (await fetch(`http://127.0.0.1:${proxy.statPort}/metrics`)).text();
    assert.match(metrics, /polymur_send_failures_total\{reason="DEPTH_ZERO_SELF_SIGNED_CERT"\} \d+/);
    assert.equal(sink.lines.length, 0);
    assert.equal(await scrapeCounter(proxy.statPort, 'polymur_points_written_total'), 0);
    process.stdout.write(`# untrusted gateway certificate: "${ping[0]}"\n`);
  } finally {
    await proxy.stop();
    await gateway.stop();
    await sink.close();
  }
});
