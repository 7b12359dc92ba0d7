// SIGHUP reloads with real programs while a client streams through them: the gateway's key store
// and certificate, the proxy's -api-key-file and CA (-cert), the relay's -destinations-file. Each
// change takes effect without a restart, a broken new file keeps the old setting with a line
// saying why, and the stream loses nothing (sent / arrived / missing / duplicated printed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { chmodSync, copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { sendLoad } from '../../harness/load-generator.js';
import { makeCert, type TestCert } from '../../harness/certs.js';
import { openGraphiteStream, sendText } from '../helpers/graphite-stream.js';
import { post } from '../helpers/https-post.js';
import { runToExit } from '../../harness/programs.js';
import { delivery, peakRssMb, until } from '../helpers/points.js';
import { createCleanup, type Defer } from '../helpers/cleanup.js';
import { sighup } from '../helpers/reload.js';
import { startGateway, startProxy, startRelay, writeKeyFile, type GatewayProcess, type ListenerProcess } from '../../harness/system.js';
import { startTcpSink, type TcpSink } from '../helpers/tcp-sink.js';

const FAST_RETRY = ['-timeout', '2s', '-max-retry-delay', '500ms', '-flush-interval', '100ms', '-verbose=false'];
/** About 4 s of traffic at 5,000 points a second: the reloads happen while it runs. */
const STREAM = { connections: 1, points: 20_000, ratePerSecond: 5_000 };

/** A destination that is closed when the test ends, whatever happened (after the programs deferred later, which write to it). */
async function sinkFor(defer: Defer): Promise<TcpSink> {
  const sink = await startTcpSink();
  defer(() => sink.close());
  return sink;
}

const tmp = (what: string): string => mkdtempSync(join(tmpdir(), `polymur-reload-${what}-`));

/** Waits for every streamed point at the sinks, prints the figures and requires that none is missing. */
async function assertStreamDelivered(what: string, sinks: readonly TcpSink[], programs: readonly ListenerProcess[] | readonly GatewayProcess[]): Promise<void> {
  const streamed = (): string[] => sinks.flatMap((s) => s.lines.filter((l) => l.startsWith('collectd.')));
  await until(`every streamed point at the sinks (${what})`, () => delivery(streamed(), STREAM.connections, STREAM.points).missing === 0, 60_000).catch(() => undefined);
  const d = delivery(streamed(), STREAM.connections, STREAM.points);
  const rss = programs.map((p) => `${peakRssMb(p.proc.pid!)} MB`).join(', ');
  process.stdout.write(`# reload ${what}: sent ${d.sent}, arrived ${d.arrived}, missing ${d.missing}, duplicated ${d.duplicated}; peak RSS ${rss}\n`);
  assert.equal(d.missing, 0, `${d.missing} streamed points lost across the reload`);
}

async function ping(gateway: { port: number }, key: string, ca: Buffer): Promise<number> {
  return (await post(gateway.port, '/ping', { 'x-polymur-key': key }, Buffer.alloc(0), ca)).status;
}

async function servedFingerprint(port: number, ca: Buffer): Promise<string> {
  const socket = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ca });
  await once(socket, 'secureConnect');
  const fingerprint = socket.getPeerCertificate().fingerprint256;
  socket.destroy();
  return fingerprint;
}

const fingerprintOf = (cert: TestCert): string => new X509Certificate(cert.cert).fingerprint256;

/** Puts `next`'s certificate and key where `live`'s are: a renewal in place. */
function renew(live: TestCert, next: TestCert): void {
  copyFileSync(next.certPath, live.certPath);
  copyFileSync(next.keyPath, live.keyPath);
}

test('SIGHUP gateway: a created key is accepted and a deleted one refused at once (-key-refresh 0), a destination added via -destinations-file, a broken key store keeps the keys; a proxy streaming through loses nothing', async (t) => {
  const defer = createCleanup(t);
  const sink = await sinkFor(defer);
  const added = await sinkFor(defer);
  const destinations = join(tmp('dests'), 'destinations');
  writeFileSync(destinations, `# carbon\n${sink.address}\n`);
  const keyFile = writeKeyFile({ alice: 'alice-key-0123456789', bob: 'bob-key-0123456789' });
  const gateway = await startGateway({ keyFile, args: ['-destinations-file', destinations, '-key-refresh', '0'] });
  defer(() => gateway.stop());
  const proxy = await startProxy({ gateway: gateway.url, cert: gateway.cert, apiKey: 'alice-key-0123456789', args: FAST_RETRY });
  defer(() => proxy.stop());
  const sending = sendLoad({ port: proxy.port, ...STREAM });
  const created = await runToExit('keys', ['-key-store', keyFile.url, 'create', 'carol']);
  const carol = /with key (\S+)/.exec(created.stdout)?.[1];
  assert.ok(carol, created.stdout + created.stderr);
  assert.equal(await ping(gateway, carol, gateway.cert.cert), 401, 'no periodic refresh and no watch: the new key waits for SIGHUP');

  writeFileSync(destinations, `# carbon\n${sink.address}\n${added.address}  # the new one\n`);
  const first = await sighup(gateway);
  assert.match(first, /Reload: API keys \(file \S+\): 1 new, 0 removed, 3 known/);
  assert.match(first, new RegExp(`Reload: destinations \\(-destinations-file \\S+\\): added ${added.address}`));
  assert.equal(await ping(gateway, carol, gateway.cert.cert), 200, 'the created key is accepted after SIGHUP');

  const deleted = await runToExit('keys', ['-key-store', keyFile.url, 'delete', 'bob']);
  assert.equal(deleted.code, 0, deleted.stderr);
  assert.equal(await ping(gateway, 'bob-key-0123456789', gateway.cert.cert), 200, 'still known until SIGHUP');
  assert.match(await sighup(gateway), /Reload: API keys \(file \S+\): 0 new, 1 removed, 2 known/);
  assert.equal(await ping(gateway, 'bob-key-0123456789', gateway.cert.cert), 401, 'the deleted key is refused after SIGHUP');

  writeFileSync(keyFile.path, '{"alice": "alice-key-0123456789", ');
  const broken = await sighup(gateway);
  assert.match(broken, /Reload: API keys \(file \S+\) FAILED, keeping the old setting: .+; the 2 known keys stay/);
  assert.equal(await ping(gateway, carol, gateway.cert.cert), 200, 'a broken key store keeps the known keys');
  assert.equal(await ping(gateway, 'alice-key-0123456789', gateway.cert.cert), 200);

  await sending;
  await assertStreamDelivered('of the gateway key store (3 SIGHUPs)', [sink], [proxy, gateway]);
  // Points sent after the reload reach the added destination (the stream may have ended before the
  // add: how long the keys CLI and the SIGHUP take is no part of the check).
  const afterAdd = Array.from({ length: 100 }, (_, i) => `reload.added.m${i} ${i} 1700000000`);
  await sendText(proxy.port, afterAdd.map((l) => `${l}\n`).join(''));
  await until('the points sent after the reload at the destination added by the file', () => afterAdd.every((l) => added.lines.includes(l)), 30_000);
});

test('SIGHUP gateway: a renewed certificate is served to new handshakes, a key that does not match keeps the old one; a proxy streaming through loses nothing', async (t) => {
  const defer = createCleanup(t);
  const sink = await sinkFor(defer);
  const live = makeCert();
  const next = makeCert();
  const original = fingerprintOf(live);
  // The proxy trusts both while the gateway's certificate is rotated.
  const bundle = join(tmp('ca'), 'bundle.pem');
  writeFileSync(bundle, Buffer.concat([live.cert, next.cert]));
  const gateway = await startGateway({ cert: live, args: ['-dev-mode', '-destinations', sink.address] });
  defer(() => gateway.stop());
  const proxy = await startProxy({ args: ['-gateway', gateway.url, '-api-key', '123', '-cert', bundle, ...FAST_RETRY] });
  defer(() => proxy.stop());
  const trusted = Buffer.concat([live.cert, next.cert]);
  assert.equal(await servedFingerprint(gateway.port, trusted), original);
  const sending = sendLoad({ port: proxy.port, ...STREAM });
  renew(live, next);
  assert.match(await sighup(gateway), new RegExp(`Reload: TLS certificate: new handshakes get sha256 ${fingerprintOf(next)}`));
  assert.equal(await servedFingerprint(gateway.port, trusted), fingerprintOf(next), 'the renewed certificate is served');

  copyFileSync(makeCert().keyPath, live.keyPath);
  const broken = await sighup(gateway);
  assert.match(broken, /Reload: TLS certificate FAILED, keeping the old setting: -key \S+ is not the key of the certificate in -cert \S+/);
  assert.equal(await servedFingerprint(gateway.port, trusted), fingerprintOf(next), 'the certificate served before the broken reload stays');

  await sending;
  await assertStreamDelivered('of the gateway certificate', [sink], [proxy, gateway]);
});

test('SIGHUP proxy: a new key in -api-key-file is used from then on (the gateway deletes the old one), a file others may read keeps the key; nothing lost', async (t) => {
  const defer = createCleanup(t);
  const sink = await sinkFor(defer);
  const keyFile = writeKeyFile({ site: 'old-key-0123456789', rotated: 'new-key-0123456789' });
  const gateway = await startGateway({ keyFile, args: ['-destinations', sink.address, '-key-refresh', '0'] });
  defer(() => gateway.stop());
  const apiKeyFile = join(tmp('apikey'), 'api.key');
  writeFileSync(apiKeyFile, 'old-key-0123456789\n', { mode: 0o600 });
  const proxy = await startProxy({ args: ['-gateway', gateway.url, '-api-key-file', apiKeyFile, '-cert', gateway.cert.certPath, ...FAST_RETRY] });
  defer(() => proxy.stop());
  const sending = sendLoad({ port: proxy.port, ...STREAM });
  await until('a first batch through', () => sink.lines.length > 0, 10_000);
  writeFileSync(apiKeyFile, 'new-key-0123456789\n');
  assert.match(await sighup(proxy), /Reload: API key \(-api-key-file \S+\): a new key is sent from now on/);
  // The old key is deleted from the gateway: a proxy still sending it would get 401 and deliver nothing more.
  writeFileSync(keyFile.path, JSON.stringify({ rotated: 'new-key-0123456789' }));
  assert.match(await sighup(gateway), /0 new, 1 removed, 1 known/);
  await sending;
  await assertStreamDelivered('of the proxy API key file', [sink], [proxy, gateway]);
  assert.doesNotMatch(proxy.stderr(), /REFUSES THE API KEY/, 'no request carried the deleted key');

  chmodSync(apiKeyFile, 0o644);
  writeFileSync(apiKeyFile, 'a-key-others-can-read\n');
  assert.match(await sighup(proxy), /Reload: API key \(-api-key-file \S+\) FAILED, keeping the old setting: -api-key-file: \S+: mode 0644 lets other users read the key/);
  const stream = await openGraphiteStream(proxy.port);
  await stream.send(['after.broken.reload 1 1700000000']);
  await stream.close();
  await until('a point sent after the failed reload arrives (the kept key works)', () => sink.lines.some((l) => l.startsWith('after.broken.reload ')), 10_000);
});

test('SIGHUP proxy: a new CA in -cert verifies new connections (the gateway still on the old certificate is not trusted until it renews), a file that is no certificate keeps the CA; nothing lost', async (t) => {
  const defer = createCleanup(t);
  const sink = await sinkFor(defer);
  const live = makeCert();
  const next = makeCert();
  const gateway = await startGateway({ cert: live, args: ['-dev-mode', '-destinations', sink.address] });
  defer(() => gateway.stop());
  const caFile = join(tmp('ca'), 'gateway-ca.pem');
  writeFileSync(caFile, live.cert);
  const proxy = await startProxy({ args: ['-gateway', gateway.url, '-api-key', '123', '-cert', caFile, ...FAST_RETRY] });
  defer(() => proxy.stop());
  const sending = sendLoad({ port: proxy.port, ...STREAM });
  await until('a first batch through', () => sink.lines.length > 0, 10_000);
  writeFileSync(caFile, next.cert);
  assert.match(await sighup(proxy), new RegExp(`Reload: gateway CA \\(-cert \\S+\\): new connections verify the gateway with sha256 ${fingerprintOf(next)}`));
  // The old pool closed once its requests were answered: the next ones connect anew, with the new CA.
  await proxy.waitForLog(/failed \(\S+: TLS certificate verification failed/, 10_000);
  renew(live, next);
  assert.match(await sighup(gateway), /new handshakes get/);
  await sending;
  await assertStreamDelivered('of the proxy CA (the queue held what the untrusted gateway could not take)', [sink], [proxy, gateway]);

  writeFileSync(caFile, 'not a certificate\n');
  assert.match(await sighup(proxy), /Reload: gateway CA \(-cert \S+\) FAILED, keeping the old setting: -cert \S+: not a PEM certificate/);
  const stream = await openGraphiteStream(proxy.port);
  await stream.send(['after.broken.reload 1 1700000000']);
  await stream.close();
  await until('a point sent after the failed reload arrives (the kept CA works)', () => sink.lines.some((l) => l.startsWith('after.broken.reload ')), 10_000);
});

test('SIGHUP relay: -destinations-file adds and removes hash-route destinations (the removed one gets nothing more), a bad line keeps the set; nothing lost', async (t) => {
  const defer = createCleanup(t);
  const [a, b, c] = [await sinkFor(defer), await sinkFor(defer), await sinkFor(defer)];
  // One host: hash-route tells the ring nodes apart by their instance.
  const [da, db, dc] = [`${a.address}:a`, `${b.address}:b`, `${c.address}:c`];
  const file = join(tmp('dests'), 'destinations');
  writeFileSync(file, `${da}\n${db}   # leaves\n`);
  const relay = await startRelay(['-destinations-file', file, '-distribution', 'hash-route', '-flush-interval', '50ms']);
  defer(() => relay.stop());
  const tagged = (s: TcpSink, tag: string): number => s.lines.filter((l) => l.startsWith(`${tag}.`)).length;
  const sendTagged = async (tag: string, count: number): Promise<void> => {
    const stream = await openGraphiteStream(relay.port);
    await stream.send(Array.from({ length: count }, (_, i) => `${tag}.m${i} ${i} 1700000000`));
    await stream.close();
    await until(`all ${count} ${tag} points at the sinks`, () => tagged(a, tag) + tagged(b, tag) + tagged(c, tag) >= count, 10_000);
  };
  const sending = sendLoad({ port: relay.port, ...STREAM });
  await until('points at both destinations', () => a.lines.length > 0 && b.lines.length > 0, 10_000);
  writeFileSync(file, `# b removed, c added\n${da}\n${dc}\n`);
  const reload = await sighup(relay);
  assert.match(reload, new RegExp(`Reload: destinations \\(-destinations-file \\S+\\): added ${dc}, removed ${db}`));
  await sendTagged('after', 2000);
  assert.equal(tagged(b, 'after'), 0, 'the removed destination gets nothing sent after the reload');
  assert.ok(tagged(a, 'after') > 0 && tagged(c, 'after') > 0, `both destinations of the new set take a share (a ${tagged(a, 'after')}, c ${tagged(c, 'after')})`);

  writeFileSync(file, `${da}\nnot-a-destination\n`);
  assert.match(
    await sighup(relay),
    /Reload: destinations \(-destinations-file \S+\) FAILED, keeping the old setting: -destinations-file: \S+: line 2: bad destination "not-a-destination"/,
  );
  await sendTagged('late', 2000);
  assert.ok(tagged(c, 'late') > 0 && tagged(b, 'late') === 0, 'the set is still a and c');

  await sending;
  await assertStreamDelivered('of the relay destinations file (hash-route)', [a, b, c], [relay]);
});

test('SIGHUP relay: a -destinations-file with fewer distinct hosts than -replication-factor is refused as at start, the set kept', async (t) => {
  const defer = createCleanup(t);
  const [a, b] = [await startTcpSink(0, '127.0.0.1'), await startTcpSink(0, '127.0.0.2')];
  for (const s of [a, b]) defer(() => s.close());
  const file = join(tmp('dests'), 'destinations');
  writeFileSync(file, `${a.address}:a\n${b.address}:b\n`);
  const relay = await startRelay(['-destinations-file', file, '-distribution', 'hash-route', '-replication-factor', '2', '-flush-interval', '50ms']);
  defer(() => relay.stop());
  writeFileSync(file, `${a.address}:a\n127.0.0.1:1:b\n`);
  assert.match(
    await sighup(relay),
    /Reload: destinations \(-destinations-file \S+\) FAILED, keeping the old setting: \S+: -replication-factor 2 needs destinations on at least as many distinct hosts \(got 1\)/,
  );
  const stream = await openGraphiteStream(relay.port);
  await stream.send(['kept.set 1 1700000000']);
  await stream.close();
  await until('the point at both replicas (the set is unchanged)', () => [a, b].every((s) => s.lines.includes('kept.set 1 1700000000')), 10_000);
});
