// Rotating a proxy's key under a stream of 1,000,000 points, as an operator would: polymur-keys
// rotate, write the new key to the proxy's -api-key-file, polymur-keys retire. Real programs: a
// proxy, a gateway on a file or etcd store (its watch picks the changes up), a TCP sink. Once with
// SIGHUP to the proxy after writing the file, once without: the proxy's first 401 after retire
// makes it read the file again and send the refused batches again at once. Nothing is lost, and
// nothing is refused while both keys are valid.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sendLoad } from '../../harness/load-generator.js';
import { startEtcd } from '../helpers/etcd.js';
import { runToExit, type RunningProgram } from '../../harness/programs.js';
import { delivery, peakRssMb, until } from '../helpers/points.js';
import { scrape } from '../helpers/prometheus.js';
import { sighup } from '../helpers/reload.js';
import { startGateway, startProxy, writeKeyFile } from '../../harness/system.js';
import { startTcpSink } from '../helpers/tcp-sink.js';
import { createCleanup, type Defer } from '../helpers/cleanup.js';

const STREAM = { connections: 2, points: 1_000_000, ratePerSecond: 80_000 };
const FAST_RETRY = ['-timeout', '2s', '-max-retry-delay', '500ms', '-flush-interval', '100ms', '-verbose=false'];

const keys = async (store: string, ...args: string[]): Promise<string> => {
  const r = await runToExit('keys', ['-key-store', store, ...args]);
  assert.equal(r.code, 0, `polymur-keys ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const keyIn = (output: string): string => /with key ([0-9a-f]{40})\n/.exec(output)?.[1] ?? assert.fail(output);

/** Waits for a line matching `pattern` written by `p` after `from` characters of its log. */
const logAfter = (p: RunningProgram, from: number, pattern: RegExp, what: string): Promise<void> => until(what, () => pattern.test(p.stderr().slice(from)), 20_000);

async function store(defer: Defer, kind: 'file' | 'etcd'): Promise<string> {
  if (kind === 'file') return writeKeyFile({}).url;
  const etcd = await startEtcd();
  defer(() => etcd.stop());
  return `etcd://${etcd.endpoint}`;
}

async function rotateUnderStream(t: TestContext, kind: 'file' | 'etcd', withSighup: boolean): Promise<void> {
  const defer = createCleanup(t);
  const sink = await startTcpSink();
  defer(() => sink.close());
  const keyStore = await store(defer, kind);
  const oldKey = keyIn(await keys(keyStore, 'create', 'site'));
  const gateway = await startGateway({ keyStore, args: ['-destinations', sink.address] });
  defer(() => gateway.stop());
  const apiKeyFile = join(mkdtempSync(join(tmpdir(), 'polymur-rotation-')), 'api.key');
  writeFileSync(apiKeyFile, `${oldKey}\n`, { mode: 0o600 });
  const proxy = await startProxy({ args: ['-gateway', gateway.url, '-api-key-file', apiKeyFile, '-cert', gateway.cert.certPath, ...FAST_RETRY] });
  defer(() => proxy.stop());

  const started = Date.now();
  const sending = sendLoad({ port: proxy.port, ...STREAM });
  await until('a tenth of the stream at the sink', () => sink.lines.length >= STREAM.points / 10, 30_000);

  const rotatedAt = gateway.stderr().length;
  const newKey = keyIn(await keys(keyStore, 'rotate', 'site'));
  await logAfter(gateway, rotatedAt, /API keys refreshed: 1 new, 0 removed/, 'the gateway to load the new key');
  writeFileSync(apiKeyFile, `${newKey}\n`);
  if (withSighup) assert.match(await sighup(proxy), /Reload: API key \(-api-key-file \S+\): a new key is sent from now on/);
  const midStream = sink.lines.length;

  // Until retire both keys are valid: nothing may have been refused so far.
  const refusedWhileBoth = (await scrape(proxy.statPort)).value('polymur_send_failures_total', { reason: 'unauthorized' });
  const gatewayWhileBoth = gateway.stderr();
  const retiredAt = gatewayWhileBoth.length;
  await keys(keyStore, 'retire', 'site');
  await logAfter(gateway, retiredAt, /API keys refreshed: 0 new, 1 removed/, 'the gateway to drop the old key');

  await sending;
  const streamed = (): string[] => sink.lines.filter((l) => l.startsWith('collectd.'));
  await until('every streamed point at the sink', () => delivery(streamed(), STREAM.connections, STREAM.points).missing === 0, 60_000).catch(() => undefined);
  const d = delivery(streamed(), STREAM.connections, STREAM.points);
  const proxyMetrics = await scrape(proxy.statPort);
  const refusedAfter = proxyMetrics.value('polymur_send_failures_total', { reason: 'unauthorized' }) - refusedWhileBoth;
  const rereads = proxyMetrics.value('polymur_api_key_rereads_total', { result: 'changed' });
  process.stdout.write(
    `# rotation (${kind} store, ${withSighup ? 'SIGHUP' : 'no SIGHUP: the 401 path'}): sent ${d.sent}, arrived ${d.arrived}, missing ${d.missing}, duplicated ${d.duplicated} ` +
      `in ${((Date.now() - started) / 1000).toFixed(1)} s (rotated with ${midStream} at the sink); 401s while both keys valid: ${refusedWhileBoth}, after retire: ${refusedAfter}; ` +
      `key file re-read after a 401 and changed: ${rereads}; peak RSS proxy ${peakRssMb(proxy.proc.pid!)} MB, gateway ${peakRssMb(gateway.proc.pid!)} MB\n`,
  );
  assert.equal(d.missing, 0, `${d.missing} points lost across the rotation`);
  assert.equal(refusedWhileBoth, 0, 'no batch refused while both keys were valid');
  assert.doesNotMatch(gatewayWhileBoth, /invalid key/, 'the gateway logged no 401 while both keys were valid');
  // A refused batch is sent again at once with the new key: never the slow "REFUSES THE API KEY" pace.
  assert.doesNotMatch(proxy.stderr(), /REFUSES THE API KEY/);
  if (!withSighup) {
    assert.ok(refusedAfter > 0, 'without SIGHUP the proxy learns of the rotation from a 401');
    assert.equal(rereads, 1, 'the key file was read again once and held the new key');
    assert.match(proxy.stderr(), /The gateway refused the API key; -api-key-file \S+ holds a new one: sending with it from now on/);
  }
}

test('rotate, new key file, SIGHUP, retire under 1,000,000 points (file store): nothing lost, no 401 while both keys are valid', (t) => rotateUnderStream(t, 'file', true));

test('rotate, new key file, retire under 1,000,000 points (etcd store), no SIGHUP: the 401 makes the proxy re-read the file and resend at once; nothing lost', (t) =>
  rotateUnderStream(t, 'etcd', false));
