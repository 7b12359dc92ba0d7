// The rule files in the real programs: the relay hash-routing to three TCP destinations with
// rewrite rules, a blacklist, a whitelist and -tag-normalize; the files changed on disk and on
// SIGHUP, a broken one keeping the old rules; the gateway's [pre] before and [post] after
// -key-prefix; a file that does not parse at start stops the program with its line.
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { sendText } from '../helpers/graphite-stream.js';
import { until } from '../helpers/points.js';
import { runToExit } from '../../harness/programs.js';
import { scrape } from '../helpers/prometheus.js';
import { sighup } from '../helpers/reload.js';
import { startGateway, startProxy, startRelay, writeKeyFile } from '../../harness/system.js';
import { startTcpSink, type TcpSink } from '../helpers/tcp-sink.js';

const dir = mkdtempSync(join(tmpdir(), 'polymur-rule-files-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Replaces a file the way editors do: a new file renamed over the old one. */
function replaceFile(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

const now = Math.floor(Date.now() / 1000);
const linesOf = (sinks: TcpSink[]): string[] => sinks.flatMap((s) => s.lines);
const namesOn = (sink: TcpSink): string[] => sink.lines.map((l) => l.split(' ')[0]!);

test('relay: rewrite, blacklist, whitelist and tag order before hash-route; drops counted by reason; files reloaded on change and SIGHUP, a broken one keeping the old rules', async () => {
  const rewrite = join(dir, 'rewrite-rules.conf');
  const blacklist = join(dir, 'blacklist.conf');
  const whitelist = join(dir, 'whitelist.conf');
  writeFileSync(rewrite, '[pre]\n^old\\.(\\w+) = new.\\1\n');
  writeFileSync(blacklist, '# dropped\n\\.debug$\n');
  writeFileSync(whitelist, '^(old|new|app|keep)\\.\n');
  const sinks = await Promise.all([startTcpSink(), startTcpSink(), startTcpSink()]);
  const relay = await startRelay([
    '-destinations',
    sinks.map((s, i) => `127.0.0.1:${s.port}:${'abc'[i]}`).join(','),
    '-distribution',
    'hash-route',
    '-flush-interval',
    '20ms',
    '-rewrite-rules',
    rewrite,
    '-blacklist',
    blacklist,
    '-whitelist',
    whitelist,
    '-tag-normalize',
  ]);
  try {
    const tagged = Array.from({ length: 30 }, (_, i) => [`app.req${i};env=prod;dc=x${i}`, `app.req${i};dc=x${i};env=prod`]);
    await sendText(
      relay.port,
      [
        ...tagged.flatMap(([a, b]) => [`${a} 1 ${now}`, `${b} 2 ${now}`]),
        `old.cpu 3 ${now}`,
        `keep.this 4 ${now}`,
        `keep.this.debug 5 ${now}`,
        `other.thing 6 ${now}`,
        `other.more 7 ${now}`,
      ].join('\n') + '\n',
    );
    await until('the 62 kept points', () => linesOf(sinks).length >= 62, 10_000);
    for (let i = 0; i < 30; i++) {
      const canonical = `app.req${i};dc=x${i};env=prod`;
      const holders = sinks.filter((s) => namesOn(s).includes(canonical));
      assert.equal(holders.length, 1, `${canonical} on ${holders.length} destinations`);
      assert.equal(namesOn(holders[0]!).filter((n) => n === canonical).length, 2, `both tag orders of ${canonical} on one destination`);
    }
    const all = linesOf(sinks).map((l) => l.split(' ')[0]!);
    assert.ok(all.includes('new.cpu') && !all.includes('old.cpu'), 'the [pre] rule renamed old.cpu');
    assert.ok(all.includes('keep.this') && !all.includes('keep.this.debug') && !all.some((n) => n.startsWith('other.')));
    assert.ok(!all.some((n) => n.includes(';env=prod;dc=')), 'no name in the order it was sent');
    let m = await scrape(relay.statPort);
    assert.equal(m.value('polymur_points_dropped_total', { reason: 'blacklist' }), 1);
    assert.equal(m.value('polymur_points_dropped_total', { reason: 'not_whitelisted' }), 2);
    assert.equal(m.value('polymur_rules_generation'), 1);
    assert.ok(m.value('polymur_rule_cache_misses_total') >= 34 && m.value('polymur_rule_cache_misses_total') <= 65);
    await relay.waitForLog(/data points dropped by the rules \(first: (blacklist|not_whitelisted)/);

    // Changed on disk, replaced as an editor does: picked up without a signal.
    replaceFile(rewrite, '[pre]\n^old\\.(\\w+) = newer.\\1\n');
    await relay.waitForLog(/Rule files changed on disk: now 1 \[pre\]/, 10_000);
    await sendText(relay.port, `old.mem 8 ${now}\n`);
    await until('old.mem renamed by the new rule', () => linesOf(sinks).some((l) => l.startsWith('newer.mem ')), 10_000);

    // A file that does not parse: the log names the file and line, the rules in use stay.
    replaceFile(rewrite, '[pre]\n^old\\.(\\w+) = newest.\\1\n(unclosed = x\n');
    await relay.waitForLog(/Rule files changed on disk but FAILED to load, keeping the old rules: .*rewrite-rules\.conf:3: missing \)/, 10_000);
    await sendText(relay.port, `old.disk 9 ${now}\n`);
    await until('old.disk renamed by the rule kept', () => linesOf(sinks).some((l) => l.startsWith('newer.disk ')), 10_000);
    m = await scrape(relay.statPort);
    assert.equal(m.value('polymur_rules_last_reload_success'), 0);
    assert.equal(m.value('polymur_rules_generation'), 2);

    // SIGHUP once the files are fixed (the watcher, 200 ms behind, may find them already loaded).
    writeFileSync(rewrite, '[pre]\n^old\\.(\\w+) = newer.\\1\n');
    writeFileSync(blacklist, '\\.debug$\n^keep\\.this$\n');
    const said = await sighup(relay);
    assert.match(said, /Reload: rule files \(-rewrite-rules .*\): (now |unchanged \()1 \[pre\] and 0 \[post\] rewrite rules, 2 blacklist/);
    await sendText(relay.port, `keep.this 10 ${now}\n`);
    await until('keep.this dropped by the new blacklist', async () => (await scrape(relay.statPort)).value('polymur_points_dropped_total', { reason: 'blacklist' }) === 2, 10_000);
  } finally {
    await relay.stop();
    await Promise.all(sinks.map((s) => s.close()));
  }
});

test('gateway: [pre] sees the name as the proxy sent it, [post] the name behind -key-prefix; blacklisted points dropped and counted', async () => {
  const rewrite = join(dir, 'gw-rewrite.conf');
  const blacklist = join(dir, 'gw-blacklist.conf');
  writeFileSync(rewrite, '[pre]\n^web(\\d+)\\. = web.\\1.\n[post]\n^tenant\\.web\\. = tenant.frontend.\n');
  writeFileSync(blacklist, '^secret\\.\n');
  const keys = writeKeyFile({ tenant: 'k3y-for-tenant-rules' });
  const sink = await startTcpSink();
  const gateway = await startGateway({ keyFile: keys, args: ['-destinations', `127.0.0.1:${sink.port}`, '-key-prefix', '-rewrite-rules', rewrite, '-blacklist', blacklist] });
  const proxy = await startProxy({ gateway: gateway.url, cert: gateway.cert, apiKey: 'k3y-for-tenant-rules', args: ['-flush-interval', '50ms'] });
  try {
    await sendText(proxy.port, `web1.cpu 1 ${now}\nweb2.load 2 ${now}\nsecret.x 3 ${now}\nother.y 4 ${now}\n`);
    await sink.waitForLines(3, 10_000);
    assert.deepEqual(namesOn(sink).sort(), ['tenant.frontend.1.cpu', 'tenant.frontend.2.load', 'tenant.other.y']);
    const m = await scrape(gateway.statPort);
    assert.equal(m.value('polymur_points_dropped_total', { reason: 'blacklist' }), 1);
    assert.equal(m.value('polymur_points_renamed_total'), 2);
  } finally {
    await proxy.stop();
    await gateway.stop();
    await sink.close();
  }
});

test('a rule file that does not parse at start: exit 2, the file and line named', async () => {
  const broken = join(dir, 'broken-blacklist.conf');
  writeFileSync(broken, '^fine\\.\n# comment\n(?i:scoped)\n');
  const e = await runToExit('relay', [
    '-listen-addr',
    '127.0.0.1:0',
    '-stat-addr',
    '127.0.0.1:0',
    '-api-addr',
    '127.0.0.1:0',
    '-destinations',
    '127.0.0.1:1',
    '-blacklist',
    broken,
  ]);
  assert.equal(e.code, 2);
  assert.match(e.stderr, /broken-blacklist\.conf:3: a scoped change of case sensitivity has no JavaScript form/);
  const missing = await runToExit('relay', ['-listen-addr', '127.0.0.1:0', '-destinations', '127.0.0.1:1', '-whitelist', join(dir, 'nope.conf')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /-whitelist .*nope\.conf: no such file/);
});
