// Tenants at a real gateway, with their rules set by the real polymur-keys on the gateway's own key
// file while it runs: two keys each writing only their own subtree (allow), a names ceiling (new
// names dropped and counted, known ones flowing, a log line naming the key and a name), a rate
// (429 + Retry-After, the whole batch refused, a batch over the burst let through once), the limits
// reaching the running gateway through the store's watch, and the per-key series bounded by
// -max-tenant-series, read back from /metrics, /tenants.json and polymur-keys usage.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { post } from '../helpers/https-post.js';
import { runToExit } from '../../harness/programs.js';
import { until } from '../helpers/points.js';
import { startGateway, writeKeyFile, type GatewayProcess, type KeyFile } from '../../harness/system.js';
import { startTcpSink, type TcpSink } from '../helpers/tcp-sink.js';
import type { TestCert } from '../../harness/certs.js';

const KEYS = {
  site1: 'tenant-key-site1-0123456789abcdef',
  site2: 'tenant-key-site2-0123456789abcdef',
  flood: 'tenant-key-flood-0123456789abcdef',
  rate: 'tenant-key-rate-0123456789abcdef0',
  late: 'tenant-key-late-0123456789abcdef0',
};
type Name = keyof typeof KEYS;

let sink: TcpSink;
let keyFile: KeyFile;
let gateway: GatewayProcess & { cert: TestCert };

const keysCli = async (...args: string[]): Promise<string> => {
  const r = await runToExit('keys', ['-key-store', keyFile.url, ...args]);
  assert.equal(r.code, 0, `polymur-keys ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

const send = (name: Name, lines: readonly string[]) =>
  post(gateway.port, '/ingest', { 'x-polymur-key': KEYS[name] }, gzipSync(lines.map((l) => `${l}\n`).join('')), gateway.cert.cert);

const metrics = async (): Promise<string> => (await fetch(`http://127.0.0.1:${gateway.statPort}/metrics`)).text();
const series = async (text: string): Promise<number> => {
  const m = new RegExp(`^${text.replace(/[{}".]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(await metrics());
  return m ? Number(m[1]) : NaN;
};
const arrived = (prefix: string): string[] =>
  sink.lines
    .filter((l) => l.startsWith(prefix))
    .map((l) => l.split(' ')[0]!)
    .sort();
const refreshes = (): number => gateway.stderr().split('API keys refreshed').length - 1;

before(async () => {
  sink = await startTcpSink();
  keyFile = writeKeyFile(KEYS);
  // Set before the gateway starts; the limits below are set while it runs.
  await keysCli('allow', 'site1', 'site1.', 'shared.site1.');
  await keysCli('allow', 'site2', 'site2.');
  gateway = await startGateway({ keyFile, args: ['-destinations', sink.address, '-max-tenant-series', '4'] });
});

after(async () => {
  await gateway?.stop();
  await sink?.close();
});

test('namespaces: each of two keys writes only its own subtree; the rest is dropped and counted', async () => {
  const lines = ['site1.cpu 1 1700000000', 'shared.site1.disk 2 1700000000', 'site2.cpu 3 1700000000', 'other.thing 4 1700000000'];
  assert.equal((await send('site1', lines)).status, 200);
  assert.equal((await send('site2', lines)).status, 200);
  await until('the allowed points', () => sink.lines.length >= 3, 10_000);
  assert.deepEqual(arrived(''), ['shared.site1.disk', 'site1.cpu', 'site2.cpu']);
  assert.equal(await series('polymur_tenant_points_rejected_total{key="site1",reason="namespace"}'), 2);
  assert.equal(await series('polymur_tenant_points_rejected_total{key="site2",reason="namespace"}'), 3);
  assert.equal(await series('polymur_points_received_total{key="site1"}'), 2);
  assert.equal(await series('polymur_points_received_total{key="site2"}'), 1);
  await gateway.waitForLog(/3 data points from site2 dropped: outside its allowed prefixes \(site2\.\), e\.g\. "site1\.cpu"/);
  // The prefix taken away again: site2 may write every name.
  const said = await keysCli('disallow', 'site2', 'site2.');
  assert.equal(said, 'site2 has no allowed prefix left: it may write every name again\n');
  await until('site2 writes anywhere', async () => (await send('site2', [`anywhere.${Date.now()} 5 1700000000`])).status === 200 && arrived('anywhere.').length > 0, 10_000);
});

test('names ceiling: new names past -max-names are dropped and counted, known names keep flowing; the limit reaches the running gateway at once', async () => {
  assert.equal((await send('flood', ['flood.known.a 1 1700000000'])).status, 200);
  const before = refreshes();
  assert.equal(await keysCli('limit', 'flood', '-max-names', '3'), 'Limits of flood: 3 names/hour\n');
  await until('the gateway re-read the store', () => refreshes() > before, 10_000);
  // From the write of the file (its mtime) to the reload seen in the gateway's log.
  const applied = Math.round(Date.now() - statSync(keyFile.path).mtimeMs);
  const names = ['flood.known.a', 'flood.known.b', 'flood.known.c', 'flood.req.1', 'flood.req.2', 'flood.req.3'];
  assert.equal(
    (
      await send(
        'flood',
        names.map((n, i) => `${n} ${i} 1700000000`),
      )
    ).status,
    200,
  );
  await until('the known names', () => arrived('flood.').length >= 3, 10_000);
  await gateway.waitForLog(/3 data points from flood dropped: new names over its ceiling of 3 distinct metric names this hour, e\.g\. "flood\.req\.1"/);
  // The known names still pass beside new ones, which are still refused.
  assert.equal((await send('flood', ['flood.known.b 7 1700000000', 'flood.req.4 8 1700000000'])).status, 200);
  await until('the known name again', () => arrived('flood.').length >= 5, 10_000);
  assert.deepEqual(arrived('flood.'), ['flood.known.a', 'flood.known.a', 'flood.known.b', 'flood.known.b', 'flood.known.c']);
  assert.equal(await series('polymur_tenant_points_rejected_total{key="flood",reason="name_quota"}'), 4);
  process.stdout.write(`# names ceiling: limit in force at most ${applied} ms after polymur-keys wrote it; 4 points with new names dropped, known names delivered\n`);
});

test('rate: over the bucket the whole batch is refused with 429 and Retry-After; a batch over the burst passes once the bucket is full', async () => {
  await keysCli('limit', 'rate', '-points-per-second', '10', '-burst', '20');
  const batch = (n: number, tag: string): string[] => Array.from({ length: n }, (_, i) => `rate.${tag}.m${i} ${i} 1700000000`);
  // The limit is in force once a batch over it is refused; the batches before it were taken whole.
  let accepted = 0;
  let refused = await send('rate', batch(15, 'a'));
  await until(
    'the limit in force',
    async () => {
      if (refused.status === 200) accepted += 15;
      else return refused.status === 429;
      refused = await send('rate', batch(15, 'a'));
      return false;
    },
    10_000,
  );
  const retryAfter = Number(refused.headers['retry-after']);
  assert.ok(retryAfter >= 1 && retryAfter <= 2, `Retry-After ${retryAfter}`);
  await new Promise((r) => setTimeout(r, retryAfter * 1000));
  const later = await send('rate', batch(15, 'b'));
  assert.equal(later.status, 200, 'after the wait it was told');
  // One destination connection, in order: once the later batch is in, every earlier one is.
  await until('the later batch', () => arrived('rate.b.').length === 15, 10_000);
  assert.equal(arrived('rate.a.').length, accepted, 'nothing of a refused batch was delivered');
  // 50 points can never fit a 20-point bucket: they pass when it is full, then the debt is paid.
  await until('a full bucket takes the big batch', async () => (await send('rate', batch(50, 'big'))).status === 200, 10_000);
  const next = await send('rate', batch(1, 'c'));
  assert.equal(next.status, 429);
  assert.ok(Number(next.headers['retry-after']) >= 3, `Retry-After ${String(next.headers['retry-after'])} after a 30-point debt at 10/s`);
  assert.ok((await series('polymur_tenant_points_rejected_total{key="rate",reason="rate"}')) >= 16);
  assert.ok((await series('polymur_tenant_requests_total{key="rate",code="429"}')) >= 2);
});

test('accounting: per-key series bounded by -max-tenant-series, the rest under key="other"; /tenants.json and polymur-keys usage', async () => {
  // site1, site2, flood and rate are tracked (4): late is counted under "other".
  assert.equal((await send('late', ['late.a 1 1700000000', 'late.b 1 1700000000'])).status, 200);
  const text = await metrics();
  assert.doesNotMatch(text, /key="late"/);
  assert.equal(await series('polymur_points_received_total{key="other"}'), 2);
  assert.equal(await series('polymur_tenant_keys_tracked'), 4);
  assert.equal(await series('polymur_tenant_names{key="flood"}'), 7, 'flood.known.a-c and flood.req.1-4 seen, estimated');
  const report = (await (await fetch(`http://127.0.0.1:${gateway.statPort}/tenants.json`)).json()) as {
    tracked: number;
    tenants: Array<{ key: string; bytesCompressed: number; bytesRaw: number; requests: Record<string, number>; limits?: unknown }>;
  };
  assert.deepEqual(
    report.tenants.map((t) => t.key),
    ['flood', 'rate', 'site1', 'site2', 'other'],
  );
  const rate = report.tenants.find((t) => t.key === 'rate')!;
  assert.deepEqual(rate.limits, { pointsPerSecond: 10, burst: 20 });
  assert.ok(rate.requests['429']! >= 2 && rate.requests['200']! >= 2, JSON.stringify(rate.requests));
  assert.ok(rate.bytesCompressed > 0 && rate.bytesRaw > rate.bytesCompressed);
  const table = await keysCli('usage', '-stat-addr', `127.0.0.1:${gateway.statPort}`);
  const rows = table.trimEnd().split('\n');
  assert.match(rows[0]!, /^KEY +ACCEPTED +RATE +NAMESPACE +NAME_QUOTA +INVALID +BYTES +RAW_BYTES +REQUESTS +NAMES\/H +LIMITS$/);
  assert.match(
    rows.find((r) => r.startsWith('flood '))!,
    /^flood +5 +0 +0 +4 +0 .* 7 +3 names\/hour$/,
  );
  assert.match(
    rows.find((r) => r.startsWith('site1 '))!,
    /^site1 +2 +0 +2 +0 .*no limits; allow site1\. shared\.site1\.$/,
  );
  assert.match(rows.at(-2)!, /^other +2 /, 'the overflow last');
  assert.equal(rows.at(-1), '(4 keys tracked, -max-tenant-series: later keys are summed under "other")');
  process.stdout.write(table.replace(/^/gm, '# '));
});
