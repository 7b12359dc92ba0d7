// The reference scale-out deployment, every part real, on loopback: two proxies stream 2,000,000
// points each through HAProxy (deploy/cluster/haproxy.cfg, TLS passed through) to three gateways
// that take their keys from a 3-member etcd cluster (TLS, auth) and hash-route with
// -replication-factor 2 to three carbon-caches on three loopback "hosts". Meanwhile a gateway is
// SIGKILLed and restarted 10 s later, an etcd member is stopped and started, a carbon-cache is
// stopped for 10 s, and a third key (its proxy through HAProxy's TLS-terminating frontend) is
// revoked and later restored. Every point must be in the whisper files of both carbons carbon's
// own ring names for it. Run by `npm run test:cluster` (and so by the README test command).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, startCarbons, type Carbon } from '../helpers/carbon.js';
import { carbonPlacement } from '../helpers/carbon-ring.js';
import { makeCert } from '../../harness/certs.js';
import { startEtcdCluster } from '../helpers/etcd-cluster.js';
import { startHaproxy } from '../../harness/haproxy.js';
import { propagationMs } from '../helpers/key-propagation.js';
import { peakRssMb, scrapeCounter, until } from '../helpers/points.js';
import { runToExit, startProgram, type RunningProgram } from '../../harness/programs.js';
import { rawPost } from '../helpers/raw-http.js';
import { startProxy, type ListenerProcess } from '../../harness/system.js';

const run = promisify(execFile);

/** 2,000,000 as the issue asks; POLYMUR_CLUSTER_POINTS runs it smaller (a loaded machine, a quick check of the wiring). */
const POINTS_PER_PROXY = Number(process.env['POLYMUR_CLUSTER_POINTS'] ?? 2_000_000);
/** Under the 3 minutes the issue allows (npm run test:cluster gives the file 180 s). */
const TEST_TIMEOUT_MS = 170_000;
/** Few names, many timestamps: carbon writes each whisper file's points in large batches. */
const NAMES = 50;
const STAMPS = POINTS_PER_PROXY / NAMES;
const GAMMA_NAMES = 10;
const GAMMA_STAMPS = 2_000;
/** The first timestamp: inside carbon's 1s:1d retention, all of them in the past. */
const BASE = Math.floor(Date.now() / 1000) - STAMPS - 3_600;
const valueAt = (ts: number): number => ts % 100_000;

/** Writes `names` × `stamps` lines (timestamp outer, so every file grows together) to a proxy, honouring backpressure. */
async function stream(port: number, names: number, stamps: number, from = 0, onProgress?: (sent: number) => void): Promise<void> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let sent = 0;
  for (let s = from; s < stamps; s += 200) {
    let chunk = '';
    for (let t = s; t < Math.min(s + 200, stamps); t++) {
      const ts = BASE + t;
      for (let n = 0; n < names; n++) chunk += `cluster.m${n} ${valueAt(ts)} ${ts}\n`;
      sent += names;
    }
    if (!socket.write(chunk)) await once(socket, 'drain');
    onProgress?.(sent);
  }
  socket.end();
  await once(socket, 'close');
}

/**
 * Per whisper file: the points stored in [BASE, BASE + stamps) and how many hold a wrong value. With
 * `untilShort` it stops after the first file that is short: while carbon still drains its cache a
 * poll costs one file's read, not all of them (whisper.fetch reads a 1 MB archive per file).
 */
const COUNT = `
import json, sys, whisper
req = json.load(sys.stdin)
out = []
for path, start, stamps in req['files']:
    (s, e, step), values = whisper.fetch(path, start - 1, start + stamps - 1)
    got = [(s + i * step, v) for i, v in enumerate(values) if v is not None and start <= s + i * step < start + stamps]
    out.append([len(got), sum(1 for t, v in got if v != t % 100000)])
    if req['untilShort'] and len(got) < stamps:
        break
print(json.dumps(out))
`;

async function countStored(carbon: Carbon, metrics: readonly string[], stamps: number, untilShort: boolean): Promise<Array<[number, number]>> {
  const child = run('/usr/bin/python3', ['-c', COUNT], { maxBuffer: 16 * 1024 * 1024 });
  child.child.stdin!.end(JSON.stringify({ files: metrics.map((m) => [carbon.whisperPath(m), BASE, stamps]), untilShort }));
  return JSON.parse((await child).stdout) as Array<[number, number]>;
}

interface Gateway {
  proc: RunningProgram;
  readonly httpsPort: number;
  readonly httpPort: number;
  readonly statPort: number;
  readonly cert: { readonly cert: Buffer };
}

test(
  `scale-out: 2 x ${POINTS_PER_PROXY} points through HAProxy, 3 gateways, a 3-member etcd, 3 carbon-caches (replication 2), through a gateway kill, a member stop, a carbon stop and a revocation`,
  { timeout: TEST_TIMEOUT_MS },
  async () => {
    const started = Date.now();
    const cert = makeCert();
    const hosts = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];
    const [etcd, carbons] = await Promise.all([startEtcdCluster(), startCarbons(['a', 'b', 'c'], hosts)]);
    const destinations = carbons.map((c, i) => `${c.address}:${['a', 'b', 'c'][i]}`);
    const gateways: Gateway[] = [];
    const proxies: ListenerProcess[] = [];
    let haproxy: Awaited<ReturnType<typeof startHaproxy>> | undefined;
    // Lines the gateways wrote to carbon, over every gateway process (the killed one's until its last
    // scrape before the kill: what it wrote in between is in no count, so this is a lower bound).
    let writtenBeforeKill = 0;
    /** Each port's counter; 0 where it does not answer (the killed gateway until it is back). */
    const countsOf = (statPorts: readonly number[], metric: string): Promise<number[]> => Promise.all(statPorts.map((port) => scrapeCounter(port, metric).catch(() => 0)));
    const total = (counts: readonly number[]): number => counts.reduce((a, b) => a + b, 0);
    const sumOf = async (statPorts: readonly number[], metric: string): Promise<number> => total(await countsOf(statPorts, metric));
    let victimIndex = -1;
    /** Each gateway's count; the killed one's includes what it counted before the kill. */
    const writtenPerGateway = async (): Promise<number[]> =>
      (
        await countsOf(
          gateways.map((g) => g.statPort),
          'polymur_points_written_total',
        )
      ).map((n, i) => n + (i === victimIndex ? writtenBeforeKill : 0));
    const writtenByGateways = async (): Promise<number> => total(await writtenPerGateway());
    try {
      const keyOf = async (name: string): Promise<string> => {
        const r = await runToExit('keys', [...etcd.flags, 'create', name]);
        assert.equal(r.code, 0, r.stderr);
        return /with key (\S+)/.exec(r.stdout)![1]!;
      };
      const [alpha, beta, gamma] = [await keyOf('alpha'), await keyOf('beta'), await keyOf('gamma')];

      const startGatewayAt = async (g: Omit<Gateway, 'proc'>, stateDir: string): Promise<RunningProgram> => {
        const proc = startProgram('gateway', [
          '-listen-addr',
          '127.0.0.1',
          '-listen-https-port',
          String(g.httpsPort),
          '-listen-http-port',
          String(g.httpPort),
          '-cert',
          cert.certPath,
          '-key',
          cert.keyPath,
          '-stat-addr',
          `127.0.0.1:${g.statPort}`,
          '-api-addr',
          '127.0.0.1:0',
          '-key-store',
          etcd.url,
          ...etcd.accessFlags,
          '-state-dir',
          stateDir,
          '-spool-dir',
          'spool',
          '-distribution',
          'hash-route',
          '-replication-factor',
          '2',
          '-destinations',
          destinations.join(','),
          '-key-prefix',
          '-trusted-proxies',
          '127.0.0.1/32',
          '-outgoing-queue-cap',
          '200000',
          // JSON log lines carry milliseconds: when each gateway's key set changed is read from them.
          '-log-format',
          'json',
        ]);
        await proc.waitForLog(/HTTPS listening on/, 60_000);
        return proc;
      };
      const stateDirs: string[] = [];
      for (let i = 0; i < 3; i++) {
        const g = { httpsPort: await freePort(), httpPort: await freePort(), statPort: await freePort(), cert };
        stateDirs.push(mkdtempSync(join(tmpdir(), `polymur-cluster-gw${i}-`)));
        gateways.push({ ...g, proc: await startGatewayAt(g, stateDirs[i]!) });
      }
      haproxy = await startHaproxy(
        gateways.map((g) => ({ host: '127.0.0.1', ...g })),
        cert,
      );
      const lb = haproxy;
      await until('HAProxy sees the 3 gateways ready', async () => (await lb.stats()).filter((s) => s.status === 'UP').length === 6, 30_000);

      const proxyArgs = ['-cert', cert.certPath, '-max-retry-delay', '1s', '-batch-size', '20000', '-queue-max-bytes', String(4 * 1024 * 1024)];
      for (const key of [alpha, beta]) proxies.push(await startProxy({ gateway: `https://localhost:${lb.passthroughPort}`, apiKey: key, args: proxyArgs }));
      const gammaProxy = await startProxy({ gateway: `https://localhost:${lb.terminatedPort}`, apiKey: gamma, args: proxyArgs });
      proxies.push(gammaProxy);

      let progress = 0;
      const streams = Promise.all(proxies.slice(0, 2).map((p, i) => stream(p.port, NAMES, STAMPS, 0, i === 0 ? (n) => (progress = n) : undefined)));
      await stream(gammaProxy.port, GAMMA_NAMES, GAMMA_STAMPS / 2);
      const at = async (fraction: number): Promise<void> => until(`${fraction * 100}% streamed`, () => progress >= fraction * POINTS_PER_PROXY, 120_000);
      const events: string[] = [];
      // Each event with how far the stream was: the generator's count, and the lines the gateways had written to carbon.
      const note = async (e: string): Promise<void> => {
        const at = ((Date.now() - started) / 1000).toFixed(1);
        events.push(`${at}s ${e} (alpha streamed ${progress}; the gateways wrote ${await writtenByGateways()} lines)`);
        process.stdout.write(`# ${events.at(-1)}\n`); // as it happens: a run that times out says how far it got
      };

      // 1. A gateway SIGKILLed, restarted 10 s later on the same ports and state directory (its spool).
      await at(0.1);
      const victim = gateways[1]!;
      writtenBeforeKill = await scrapeCounter(victim.statPort, 'polymur_points_written_total');
      victimIndex = gateways.indexOf(victim);
      victim.proc.proc.kill('SIGKILL');
      await victim.proc.exited;
      await note('gateway #1 SIGKILLed');
      await new Promise((r) => setTimeout(r, 10_000).unref());
      victim.proc = await startGatewayAt(victim, stateDirs[1]!);
      await note('gateway #1 restarted');

      // 2. An etcd member stopped and started.
      await etcd.stopMember(2);
      await note('etcd member 2 stopped');
      // 4. Meanwhile the third key is revoked: refused by every gateway within 1 s, the others not.
      let since = 0;
      const logged = gateways.map((g) => g.proc.stderr().length);
      const del = await runToExit('keys', [...etcd.flags, 'delete', 'gamma']).then((r) => ((since = Date.now()), r));
      assert.equal(del.code, 0, del.stderr);
      // When each gateway's key set lost gamma (its log), and when its /ping first answered 401: a busy
      // gateway may take a while to answer a ping at all, so the second figure is the larger.
      const removedMs = await Promise.all(
        gateways.map(async (g, i) => {
          const removal = /\{"time":"([^"]+)","msg":"API keys refreshed: \d+ new, [1-9]\d* removed"\}/;
          let m: RegExpExecArray | null = null;
          await until(`gateway #${i} drops gamma`, () => (m = removal.exec(g.proc.stderr().slice(logged[i]))) !== null, 10_000);
          return Date.parse(m![1]!) - since;
        }),
      );
      const refusedMs = await propagationMs(
        gateways.map((g) => ({ port: g.httpsPort, cert })),
        gamma,
        401,
        since,
        '127.0.0.10',
      );
      await note(`gamma revoked: key set changed after ${removedMs.join(', ')} ms, /ping 401 after ${refusedMs.join(', ')} ms`);
      removedMs.forEach((ms, i) => {
        const keyLines = gateways[i]!.proc.stderr()
          .slice(logged[i])
          .split('\n')
          .filter((l) => /API key/.test(l));
        assert.ok(ms < 1000, `gateway #${i} dropped the revoked key after ${ms} ms:\n${keyLines.join('\n')}`);
      });
      for (const g of gateways) for (const key of [alpha, beta]) assert.equal((await rawPost(g.httpsPort, cert.cert, '/ping', key, Buffer.alloc(0))).status, 200);
      await stream(gammaProxy.port, GAMMA_NAMES, GAMMA_STAMPS, GAMMA_STAMPS / 2);
      await etcd.startMember(2);
      await note('etcd member 2 started');

      // 3. A carbon-cache stopped for 10 s.
      await carbons[2]!.stop();
      await note('carbon c stopped');
      await new Promise((r) => setTimeout(r, 10_000).unref());
      await carbons[2]!.start();
      await note('carbon c started');

      await streams;
      await note('alpha and beta streamed');
      // The revoked key's points wait in its proxy (401 keeps them); restored, they arrive.
      const entry = (await etcd.ctl('get', 'polymur/gateway/keys/gamma', '--print-value-only')).trim();
      assert.equal(entry, '', 'gamma is revoked');
      // Its batches reach a gateway behind the others' backlog: wait for the refusal, do not assume it came.
      await until('the gamma proxy refused (401)', () => /401/.test(gammaProxy.stderr()), 60_000);

      // Where carbon's ring puts each name (key prefix included), two carbons each.
      const names = (key: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${key}.cluster.m${i}`);
      const metrics = [...names('alpha', NAMES), ...names('beta', NAMES)];
      const placement = await carbonPlacement({ destinations, names: metrics, hashType: 'carbon_ch', replication: 2 });
      /** `untilShort`: each carbon's files are read up to the first short one (a poll); otherwise all of them. */
      const complete = async (list: readonly string[], stamps: number, where: number[][], untilShort: boolean): Promise<{ stored: number; wrong: number; short: string[] }> => {
        let stored = 0;
        let wrong = 0;
        const short: string[] = [];
        for (const [ci, carbon] of carbons.entries()) {
          const present = new Set(carbon.storedMetrics());
          const mine = list.filter((_, i) => where[i]!.includes(ci));
          const absent = mine.filter((m) => !present.has(m));
          short.push(...absent.map((m) => `${m} on ${'abc'[ci]}: no file`));
          if (untilShort && absent.length > 0) continue;
          const files = mine.filter((m) => present.has(m));
          const counts = await countStored(carbon, files, stamps, untilShort);
          counts.forEach(([n, bad], k) => {
            stored += n;
            wrong += bad;
            if (n < stamps) short.push(`${files[k]} on ${'abc'[ci]}: ${n}/${stamps}`);
          });
        }
        return { stored, wrong, short };
      };
      // Reading 200 whisper files takes a while: first the programs' own gauges say nothing is queued
      // (cheap: every point the senders gave them was written to carbon), then the files are polled
      // every few seconds while carbon drains its cache, each poll up to the first short file; once
      // none is short, that poll read them all. (Not the gateways' written count against the copies:
      // the killed gateway's writes after its last scrape are in no count.)
      const copies = (points: number): number => 2 * points;
      const settled = async (
        what: string,
        check: (untilShort: boolean) => Promise<{ stored: number; wrong: number; short: string[] }>,
        senders: readonly ListenerProcess[],
        timeoutMs: number,
      ): Promise<{ stored: number; wrong: number }> => {
        // Within the test's own timeout, so that a shortfall is reported with what is missing.
        const deadline = Math.min(Date.now() + timeoutMs, started + TEST_TIMEOUT_MS - 10_000);
        const holding = [...senders.map((p) => p.statPort), ...gateways.map((g) => g.statPort)];
        await until(`${what}: nothing queued in the senders' proxies and the gateways`, async () => (await sumOf(holding, 'polymur_queue_points')) === 0, timeoutMs);
        for (;;) {
          const got = await check(true);
          await note(
            `${what}: ${got.short.length === 0 ? 'no file short' : `${got.short.length} short, first ${got.short.slice(0, 3).join('; ')}`}; lines written by the gateways ${await writtenByGateways()}`,
          );
          if (got.short.length === 0) return got;
          if (Date.now() > deadline) assert.fail(`${what}: missing ${(await check(false)).short.slice(0, 10).join('; ')}`);
          await new Promise((r) => setTimeout(r, 5_000).unref());
        }
      };
      const last = await settled('alpha and beta on both carbons', (untilShort) => complete(metrics, STAMPS, placement, untilShort), proxies.slice(0, 2), 150_000);
      assert.equal(last.wrong, 0);

      // Restore gamma's entry as it was (hashed): its proxy's waiting points arrive.
      await etcd.ctl('put', 'polymur/gateway/keys/gamma', `sha256:${(await import('node:crypto')).createHash('sha256').update(gamma).digest('hex')}`);
      await note('gamma restored');
      const gammaMetrics = names('gamma', GAMMA_NAMES);
      const gammaPlacement = await carbonPlacement({ destinations, names: gammaMetrics, hashType: 'carbon_ch', replication: 2 });
      const lastGamma = await settled('gamma on both carbons', (untilShort) => complete(gammaMetrics, GAMMA_STAMPS, gammaPlacement, untilShort), proxies, 60_000);

      // HAProxy's own figures: every gateway was given connections and traffic.
      const stats = (await lb.stats()).filter((s) => s.backend === 'gateways_tls');
      for (const s of stats) assert.ok(s.sessions > 0 && s.bytesIn > 0, `HAProxy sent nothing to ${s.server}: ${JSON.stringify(s)}`);
      const terminated = (await lb.stats()).filter((s) => s.backend === 'gateways_http');
      assert.ok(
        terminated.some((s) => s.bytesIn > 0),
        'the terminating frontend carried gamma',
      );

      // What the gateways wrote against the copies needed: the excess is resent lines (the killed
      // gateway's spool replayed, the resend window after carbon c's connection died), of which
      // whisper keeps one value per timestamp; the killed gateway's last writes are in no count.
      const perGateway = await writtenPerGateway();
      const windowPeaks = await Promise.all(gateways.map((g) => scrapeCounter(g.statPort, 'polymur_resend_window_peak_bytes')));
      const written = total(perGateway);
      const expected = copies(2 * POINTS_PER_PROXY + GAMMA_NAMES * GAMMA_STAMPS);
      process.stdout.write(
        `# scale-out: sent ${2 * POINTS_PER_PROXY} (+${GAMMA_NAMES * GAMMA_STAMPS} gamma); stored ${last.stored} alpha/beta points = 2 copies each, 0 missing, ${last.wrong} wrong; gamma ${lastGamma.stored} stored\n` +
          `# the gateways wrote ${written} lines for ${expected} copies, ${written - expected} more (spool replay, resend window; the killed gateway's writes after its last scrape uncounted): ${perGateway.map((n, i) => `gw${i + 1} ${n}${i === victimIndex ? ' (killed)' : ''}`).join(', ')}\n` +
          `# HAProxy passthrough per gateway: ${stats.map((s) => `${s.server} ${s.sessions} sessions ${(s.bytesIn / 1e6).toFixed(1)} MB in`).join(', ')}; terminating: ${terminated.map((s) => `${s.server} ${(s.bytesIn / 1e6).toFixed(2)} MB`).join(', ')}\n` +
          `# gateway peak RSS: ${gateways.map((g) => `${peakRssMb(g.proc.proc.pid!)} MB`).join(', ')} (of it their resend windows at most ${windowPeaks.map((b) => `${(b / 2 ** 20).toFixed(1)} MiB`).join(', ')}); wall ${((Date.now() - started) / 1000).toFixed(1)} s\n` +
          events.map((e) => `#   ${e}\n`).join(''),
      );
    } finally {
      await Promise.all(proxies.map((p) => p.stop()));
      await haproxy?.stop();
      await Promise.all(gateways.map((g) => g.proc.stop()));
      await Promise.all(carbons.map((c) => c.stop()));
      await etcd.stop();
    }
  },
);
