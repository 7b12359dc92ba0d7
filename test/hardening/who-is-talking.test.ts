// Who is talking to polymur-gateway, each attack beside a real proxy streaming well-behaved points
// through the same gateway (none may be lost): X-Forwarded-For believed only from -trusted-proxies
// and the real peer always logged; one address holding its -max-connections-per-ip worth of idle
// connections while others still get in; TLS below -tls-min-version or without forward secrecy
// refused (real openssl s_client); -client-ca requiring a client certificate besides the key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { makeCert } from '../../harness/certs.js';
import { GATEWAY_KEY, underGatewayLoad } from '../helpers/gateway-under-load.js';
import { post } from '../helpers/https-post.js';
import { scrapeCounter, until } from '../helpers/points.js';
import { rawConnect, type RawConnection } from '../helpers/raw-http.js';
import { runToExit } from '../../harness/programs.js';
import { startGateway, writeKeyFile } from '../../harness/system.js';
import { startTcpSink } from '../helpers/tcp-sink.js';

const ping = (port: number, ca: Buffer, key: string, from: string, xff?: string) =>
  post(port, '/ping', { 'x-polymur-key': key, ...(xff !== undefined ? { 'x-forwarded-for': xff } : {}) }, Buffer.alloc(0), ca, { localAddress: from });

test('X-Forwarded-For names the client only from -trusted-proxies, beside the real peer; valid /ping lines are rate-limited', async () => {
  await underGatewayLoad('X-Forwarded-For', ['-trusted-proxies', '127.0.0.2/32,fd00::/8'], async ({ gateway, ca, key }) => {
    const from = gateway.stderr().length;
    const log = (): string => gateway.stderr().slice(from);
    // An untrusted client writes what it likes into the header: the log names its real address only.
    const liar = await ping(gateway.port, ca, key, '127.0.0.1', '6.6.6.6');
    const liarBadKey = await ping(gateway.port, ca, 'wrong-key', '127.0.0.1', '6.6.6.6');
    // The trusted balancer appended the client's address rightmost; what the client wrote stays left.
    const viaBalancer = await ping(gateway.port, ca, key, '127.0.0.2', '6.6.6.6, 10.0.0.1:5');
    // A chain of our own balancers is skipped from the right.
    const viaTwo = await ping(gateway.port, ca, key, '127.0.0.2', '10.0.0.9, 127.0.0.2');
    assert.deepEqual([liar.status, liarBadKey.status, viaBalancer.status, viaTwo.status], [200, 401, 200, 200]);
    await gateway.waitForLog(/\[client 10\.0\.0\.9 via 127\.0\.0\.2:\d+\] key for site1 is valid/);
    assert.match(log(), /\[client 127\.0\.0\.1:\d+\] key for site1 is valid/);
    assert.match(log(), /\[client 127\.0\.0\.1:\d+\] invalid key/);
    assert.match(log(), /\[client 10\.0\.0\.1:5 via 127\.0\.0\.2:\d+\] key for site1 is valid/);
    assert.doesNotMatch(log(), /6\.6\.6\.6/);

    // A client pinging in a loop: every ping answered, the log takes at most 5 lines per 5 s.
    const pings = 60;
    const statuses: number[] = [];
    for (let i = 0; i < pings; i++) statuses.push((await ping(gateway.port, ca, key, '127.0.0.1')).status);
    assert.deepEqual(
      statuses,
      Array.from({ length: pings }, () => 200),
    );
    const validLines = (log().match(/key for site1 is valid/g) ?? []).length;
    assert.ok(validLines <= 5, `${validLines} "key is valid" lines for ${pings + 3} pings`);

    // Behind the balancer, failed keys count against the forwarded client, not the balancer's address.
    const guesses: number[] = [];
    for (let i = 0; i < 21; i++) guesses.push((await ping(gateway.port, ca, `guess-${i}`, '127.0.0.2', '192.0.2.66')).status);
    const neighbour = await ping(gateway.port, ca, key, '127.0.0.2', '192.0.2.1');
    assert.deepEqual([guesses.slice(0, 20).every((s) => s === 401), guesses[20], neighbour.status], [true, 429, 200]);
    return `untrusted XFF ignored (logged 127.0.0.1), trusted XFF logged as "10.0.0.1:5 via 127.0.0.2:…"; ${pings} pings answered 200 with ${validLines} log lines; behind the balancer 192.0.2.66 got 20 x 401 then 429 while 192.0.2.1 got 200`;
  });
});

test('-max-connections-per-ip: one address holding its limit of idle connections is refused more; other addresses and trusted balancers still get in', async () => {
  const limit = 5;
  await underGatewayLoad('connections per address', ['-max-connections-per-ip', String(limit), '-trusted-proxies', '127.0.0.3'], async ({ gateway, ca, key }) => {
    const held: RawConnection[] = [];
    try {
      for (let i = 0; i < limit; i++) held.push(await rawConnect(gateway.port, ca, '127.0.0.2'));
      let refused = 0;
      for (let i = 0; i < 3; i++) {
        await rawConnect(gateway.port, ca, '127.0.0.2').then(
          (c) => held.push(c),
          () => refused++,
        );
      }
      assert.equal(refused, 3, 'connections over the limit from 127.0.0.2 refused');
      assert.equal(await scrapeCounter(gateway.statPort, 'polymur_connections_refused_per_ip_total'), 3);
      // Another client, and a trusted balancer over the per-address limit, are served meanwhile.
      assert.equal((await ping(gateway.port, ca, key, '127.0.0.1')).status, 200);
      const balancer: RawConnection[] = [];
      for (let i = 0; i < limit + 3; i++) balancer.push(await rawConnect(gateway.port, ca, '127.0.0.3'));
      for (const c of balancer) c.socket.destroy();
      // Once the idle ones go, the address gets in again.
      for (const c of held.splice(0)) c.socket.destroy();
      await until('the per-address count released', async () => (await ping(gateway.port, ca, key, '127.0.0.2').catch(() => ({ status: 0 }))).status === 200, 10_000);
      return `127.0.0.2 held ${limit} idle connections, 3 more refused; 127.0.0.1 answered 200; trusted 127.0.0.3 opened ${limit + 3}`;
    } finally {
      for (const c of held) c.socket.destroy();
    }
  });
});

/** openssl s_client's handshake with the gateway: the cipher and protocol it got, or undefined when refused. */
function handshake(port: number, args: string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = execFile('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', ...args], { timeout: 10_000 }, (err, stdout) => {
      const m = /Protocol *: *(\S+)[\s\S]*?Cipher *: *(\S+)/.exec(stdout) ?? /New, (\S+), Cipher is (\S+)/.exec(stdout);
      resolve(err || !m || m[2] === '0000' || m[2] === '(NONE)' ? undefined : `${m[1]} ${m[2]}`);
    });
    child.stdin?.end();
  });
}

test('TLS: plain-RSA key exchange, CBC-SHA1 suites and TLS 1.1 are refused; forward-secret AEAD suites and the proxy are served; -tls-min-version 1.3', async () => {
  // An RSA certificate: with it, plain-RSA key exchange (AES128-SHA) is possible at all.
  const rsa = makeCert('localhost', { rsa: true });
  await underGatewayLoad(
    'TLS policy',
    [],
    async ({ gateway }) => {
      const got = {
        plainRsa: await handshake(gateway.port, ['-tls1_2', '-cipher', 'AES128-SHA']),
        plainRsaGcm: await handshake(gateway.port, ['-tls1_2', '-cipher', 'AES256-GCM-SHA384']),
        cbcSha1: await handshake(gateway.port, ['-tls1_2', '-cipher', 'ECDHE-RSA-AES128-SHA']),
        tls11: await handshake(gateway.port, ['-tls1_1', '-cipher', 'DEFAULT:@SECLEVEL=0']),
        tls12: await handshake(gateway.port, ['-tls1_2']),
        tls13: await handshake(gateway.port, ['-tls1_3']),
      };
      assert.deepEqual(got, {
        plainRsa: undefined,
        plainRsaGcm: undefined,
        cbcSha1: undefined,
        tls11: undefined,
        tls12: 'TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256',
        tls13: 'TLSv1.3 TLS_AES_128_GCM_SHA256',
      });
      return `refused: AES128-SHA, AES256-GCM-SHA384 (plain RSA), ECDHE-RSA-AES128-SHA (CBC-SHA1), TLS 1.1; served: ${got.tls12}, ${got.tls13}`;
    },
    { cert: rsa },
  );

  const sink = await startTcpSink();
  const only13 = await startGateway({ cert: rsa, args: ['-destinations', sink.address, '-tls-min-version', '1.3'] });
  try {
    assert.equal(await handshake(only13.port, ['-tls1_2']), undefined);
    assert.equal(await handshake(only13.port, ['-tls1_3']), 'TLSv1.3 TLS_AES_128_GCM_SHA256');
  } finally {
    await only13.stop();
    await sink.close();
  }
});

test('-client-ca: no client certificate or one from another CA is refused at the handshake; a certificate with a valid key gets 200, without one 401', async () => {
  const clientCa = makeCert('polymur-client');
  const stranger = makeCert('stranger');
  const sink = await startTcpSink();
  const gateway = await startGateway({
    keyFile: writeKeyFile({ site1: GATEWAY_KEY }),
    args: ['-destinations', sink.address, '-client-ca', clientCa.certPath],
  });
  try {
    const ca = gateway.cert.cert;
    const withCert = { cert: clientCa.cert, key: clientCa.key };
    const lines = Array.from({ length: 2000 }, (_, i) => `mtls.client.m${i} ${i} 1700000000`);
    const batch = gzipSync(lines.join('\n') + '\n');
    const noCert = await post(gateway.port, '/ingest', { 'x-polymur-key': GATEWAY_KEY }, batch, ca).then(
      (r) => `answered ${r.status}`,
      (e: NodeJS.ErrnoException) => e.code ?? e.message,
    );
    const otherCa = await post(gateway.port, '/ingest', { 'x-polymur-key': GATEWAY_KEY }, batch, ca, { cert: stranger.cert, key: stranger.key }).then(
      (r) => `answered ${r.status}`,
      (e: NodeJS.ErrnoException) => e.code ?? e.message,
    );
    const badKey = await post(gateway.port, '/ingest', { 'x-polymur-key': 'not-a-key' }, batch, ca, withCert);
    const good = await post(gateway.port, '/ingest', { 'x-polymur-key': GATEWAY_KEY }, batch, ca, withCert);
    const goodPing = await post(gateway.port, '/ping', { 'x-polymur-key': GATEWAY_KEY }, Buffer.alloc(0), ca, withCert);
    assert.match(noCert, /CERTIFICATE_REQUIRED|ECONNRESET|EPIPE/);
    assert.match(otherCa, /UNKNOWN_CA|ECONNRESET|EPIPE/);
    assert.deepEqual([badKey.status, badKey.body], [401, 'invalid key']);
    assert.deepEqual([good.status, good.body, goodPing.status], [200, 'Batch Received\n', 200]);
    await sink.waitForLines(lines.length, 10_000);
    const arrived = sink.lines.filter((l) => l.startsWith('mtls.'));
    assert.deepEqual(arrived, lines, 'the one accepted batch arrived whole, nothing of the refused ones');
    process.stdout.write(
      `# mTLS: without a certificate ${noCert}, another CA's ${otherCa}, certificate + wrong key 401, certificate + key 200: ${arrived.length}/${lines.length} points arrived\n`,
    );
  } finally {
    await gateway.stop();
    await sink.close();
  }
});

test('bad -trusted-proxies, -tls-min-version, -client-ca and -max-connections-per-ip values exit 2 with a message', async () => {
  const cert = makeCert();
  const base = ['-listen-addr', '127.0.0.1', '-listen-https-port', '0', '-cert', cert.certPath, '-key', cert.keyPath, '-dev-mode', '-destinations', '127.0.0.1:1'];
  const cases: Array<[string[], RegExp]> = [
    [['-trusted-proxies', '10.0.0.0/33'], /-trusted-proxies: "10\.0\.0\.0\/33" is not an address or a CIDR/],
    [['-trusted-proxies', 'lb.example.com'], /-trusted-proxies: "lb\.example\.com" is not an address or a CIDR/],
    [['-tls-min-version', '1.1'], /-tls-min-version must be one of 1\.2, 1\.3; got "1\.1"/],
    [['-max-connections-per-ip', '-1'], /invalid value "-1" for flag -max-connections-per-ip: must not be negative/],
  ];
  for (const [args, message] of cases) {
    const r = await runToExit('gateway', [...base, ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
  const plain = await runToExit('gateway', ['-dev-mode', '-destinations', '127.0.0.1:1', '-listen-http-port', '0', '-client-ca', cert.certPath]);
  assert.equal(plain.code, 2);
  assert.match(plain.stderr, /-client-ca needs HTTPS: give -cert and -key/);
});
