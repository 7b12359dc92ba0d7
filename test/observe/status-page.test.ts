// The status page on -stat-addr, opened in Debian's Chromium (headless, puppeteer-core) as an
// operator would: a proxy, a gateway and a relay under load; the plot draws; the totals on the page
// lie between two scrapes of /metrics taken around it; a destination taken down shows as down within
// 3 s; the gateway's -status-token refuses a missing or wrong token; no inline script, no request
// to anywhere else. Screenshots of each page go to test-output/status/. A second test fills a
// gateway with 10,000 keys that have each sent a batch, and reports how long the page takes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Browser, Page } from 'puppeteer-core';
import { Agent } from 'undici';
import { launchBrowser, testOutputDir } from '../helpers/browser.js';
import { openGraphiteStream, type GraphiteStream } from '../helpers/graphite-stream.js';
import { post } from '../helpers/https-post.js';
import { scrapeCounter, until } from '../helpers/points.js';
import type { RunningProgram } from '../../harness/programs.js';
import { startGateway, startProxy, startRelay, writeKeyFile } from '../../harness/system.js';
import { startTcpSink } from '../helpers/tcp-sink.js';

const TOKEN = 'status-secret-token';

/** Sends `lines` points a tick over each stream until stopped (bounded: at most maxTicks ticks). */
function streamLoad(streams: GraphiteStream[], maxTicks = 3000): { stop(): Promise<number> } {
  let stopped = false;
  let sent = 0;
  const running = (async () => {
    for (let tick = 0; tick < maxTicks && !stopped; tick++) {
      const now = Math.floor(Date.now() / 1000);
      const lines = Array.from({ length: 200 }, (_, i) => `status.test.series${i % 20} ${tick} ${now}`);
      await Promise.all(streams.map((s) => s.send(lines)));
      sent += lines.length * streams.length;
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await running;
      return sent;
    },
  };
}

/** Opens the page, waits for two draws of the plot and a filled page; watches for requests elsewhere and CSP reports. */
async function openStatus(browser: Browser, statPort: number, token?: string): Promise<{ page: Page; foreign: string[]; csp: string[] }> {
  const page = await browser.newPage();
  await page.setViewport({ width: 1200, height: 1400 });
  const foreign: string[] = [];
  const csp: string[] = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(`http://127.0.0.1:${statPort}/`)) foreign.push(r.url());
  });
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) csp.push(m.text());
  });
  const base = `http://127.0.0.1:${statPort}`;
  const response = await page.goto(token ? `${base}/login?token=${token}` : `${base}/`, { waitUntil: 'load' });
  assert.equal(response?.status(), 200, 'the page (after the login redirect) is served');
  await page.waitForFunction(() => Number(document.getElementById('rates')?.dataset.draws) >= 2 && document.body.dataset.updatedAt !== undefined, { timeout: 15_000 });
  return { page, foreign, csp };
}

const pageNumber = async (page: Page, id: string): Promise<number> => Number((await page.$eval(`#${id}`, (el) => el.textContent ?? '')).replace(/,/g, ''));

/** The page's total lies between two scrapes of /metrics taken before and after the page's update. */
async function assertTotalsMatch(page: Page, program: RunningProgram & { statPort: number }, id: string, metric: string): Promise<void> {
  const before = await scrapeCounter(program.statPort, metric);
  const askedAt = Date.now();
  await page.waitForFunction((t) => Number(document.body.dataset.updatedAt) > t, { timeout: 10_000 }, askedAt);
  const shown = await pageNumber(page, id);
  const after = await scrapeCounter(program.statPort, metric);
  assert.ok(before <= shown && shown <= after, `${metric}: the page shows ${shown}, /metrics ${before} before and ${after} after`);
}

test('a proxy, a gateway and a relay under load: plots, totals that match /metrics, a destination shown down within 3 s, the token', { timeout: 120_000 }, async () => {
  const gatewaySink = await startTcpSink();
  const relaySink = await startTcpSink();
  const keys = writeKeyFile({
    alice: JSON.stringify({ keys: [{ key: 'alice-key-0001' }], limits: { pointsPerSecond: 1_000_000, maxNames: 5000 }, allow: ['status.'] }),
    bob: 'bob-key-0002',
  });
  const gateway = await startGateway({ keyFile: keys, args: ['-destinations', `127.0.0.1:${gatewaySink.port}`, '-status-token', TOKEN] });
  const proxy = await startProxy({ gateway: gateway.url, cert: gateway.cert, apiKey: 'alice-key-0001', args: ['-flush-interval', '200ms'] });
  // Its shutdown is not under test: with its destination closed, what the resend window kept would hold it the whole default 10 s.
  const relay = await startRelay(['-destinations', `127.0.0.1:${relaySink.port}`, '-shutdown-timeout', '1s']);
  const streams = [await openGraphiteStream(proxy.port), await openGraphiteStream(relay.port)];
  const load = streamLoad(streams);
  const browser = await launchBrowser();
  const shots = testOutputDir('status');
  try {
    // The token: missing and wrong are 401, on the page and on its JSON; the bearer header works.
    const json = (headers: Record<string, string> = {}) => fetch(`http://127.0.0.1:${gateway.statPort}/status.json`, { headers });
    assert.equal((await json()).status, 401);
    assert.equal((await json({ authorization: 'Bearer wrong-token' })).status, 401);
    assert.equal((await json({ cookie: 'polymur_status=forged' })).status, 401);
    assert.equal((await json({ authorization: `Bearer ${TOKEN}` })).status, 200);
    const anonymous = await browser.createBrowserContext();
    const refused = await (await anonymous.newPage()).goto(`http://127.0.0.1:${gateway.statPort}/`);
    assert.equal(refused?.status(), 401, 'the page without the token');
    const wrongLogin = await (await anonymous.newPage()).goto(`http://127.0.0.1:${gateway.statPort}/login?token=nope`);
    assert.equal(wrongLogin?.status(), 401, 'a login with a wrong token');
    await anonymous.close();
    // The proxy's and relay's stat addresses are loopback and have no token: served as they are.
    assert.equal((await fetch(`http://127.0.0.1:${proxy.statPort}/status.json`)).status, 200);

    const pages: Array<[string, RunningProgram & { statPort: number }, string | undefined]> = [
      ['proxy', proxy, undefined],
      ['gateway', gateway, TOKEN],
      ['relay', relay, undefined],
    ];
    const opened = new Map<string, Page>();
    for (const [name, program, token] of pages) {
      const { page, foreign, csp } = await openStatus(browser, program.statPort, token);
      opened.set(name, page);
      await until(`${name}'s page shows points flowing out`, async () => (await pageNumber(page, 'total-out')) > 0, 20_000);
      await assertTotalsMatch(page, program, 'total-in', 'polymur_points_received_total');
      await assertTotalsMatch(page, program, 'total-out', 'polymur_points_written_total');
      assert.deepEqual(foreign, [], `${name}: no request leaves the stat address`);
      assert.deepEqual(csp, [], `${name}: no Content-Security-Policy violation`);
      await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
    }

    // The gateway's keys table names the key that sends (alice), never a key itself.
    const gatewayPage = opened.get('gateway')!;
    const keyCells = await gatewayPage.$$eval('#keys tbody tr td:first-child', (tds) => tds.map((td) => td.textContent));
    assert.deepEqual(keyCells, ['alice']);
    // alice's quotas, from her record in the key store, beside her counters.
    const header = await gatewayPage.$$eval('#keys thead th', (ths) => ths.map((th) => th.textContent));
    const cells = await gatewayPage.$$eval('#keys tbody tr td', (tds) => tds.map((td) => td.textContent));
    const at = (column: string): string | null | undefined => cells[header.indexOf(column)];
    assert.deepEqual([at('limit points/s'), at('max names/h'), at('allowed')], ['1,000,000', '5,000', 'status.'], header.join(' | '));
    assert.ok(!(await gatewayPage.content()).includes('alice-key-0001'));

    // A destination taken down shows as down within 3 s. (The load stops first: with its one
    // destination gone, the relay stops reading its clients, as -when-full block says.)
    const relayPage = opened.get('relay')!;
    const row = `#destinations tr[data-destination="127.0.0.1:${relaySink.port}"] td:nth-child(2)`;
    assert.equal(await relayPage.$eval(row, (td) => td.textContent), 'up');
    await load.stop();
    await relaySink.close();
    const downAt = Date.now();
    await relayPage.waitForFunction((sel) => document.querySelector(sel)?.textContent === 'down', { timeout: 3000 }, row);
    console.log(`relay destination shown down ${Date.now() - downAt} ms after it closed; screenshots in ${shots}`);
    await relayPage.screenshot({ path: join(shots, 'relay-destination-down.png'), fullPage: true });
  } finally {
    await load.stop();
    await browser.close();
    for (const s of streams) await s.close().catch(() => undefined);
    await proxy.stop();
    await relay.stop();
    await gateway.stop();
    await gatewaySink.close();
    await relaySink.close().catch(() => undefined);
  }
});

test('10,000 keys that each sent a batch: the page shows one sorted page of them, from a bounded JSON', { timeout: 120_000 }, async () => {
  const KEYS = 10_000;
  const entries: Record<string, string> = {};
  for (let i = 0; i < KEYS; i++) entries[`tenant-${String(i).padStart(5, '0')}`] = `key-${i}-${'x'.repeat(24)}`;
  const sink = await startTcpSink();
  const gateway = await startGateway({ keyFile: writeKeyFile(entries), args: ['-destinations', `127.0.0.1:${sink.port}`] });
  const browser = await launchBrowser();
  try {
    // Every key sends one batch; tenant-00042 sends more, so it leads the table by rate.
    const body = (points: number) => gzipSync(Array.from({ length: points }, (_, i) => `tenants.series${i} 1 ${Math.floor(Date.now() / 1000)}\n`).join(''));
    const one = body(1);
    // Kept-alive connections: ten thousand TLS handshakes would be most of the test's time.
    const agent = new Agent({ connect: { ca: gateway.cert.cert, servername: 'localhost' }, connections: 16, pipelining: 1 });
    let next = 0;
    try {
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < KEYS) {
            const i = next++;
            const reply = await agent.request({
              origin: `https://127.0.0.1:${gateway.port}`,
              path: '/ingest',
              method: 'POST',
              headers: { 'x-polymur-key': `key-${i}-${'x'.repeat(24)}`, 'content-encoding': 'gzip' },
              body: one,
            });
            const text = await reply.body.text();
            assert.equal(reply.statusCode, 200, `key ${i}: ${text}`);
          }
        }),
      );
    } finally {
      await agent.close();
    }
    await until('every key counted', async () => (await scrapeCounter(gateway.statPort, 'polymur_points_received_total')) >= KEYS);
    const heavy = body(500);
    const keepBusy = setInterval(() => {
      void post(gateway.port, '/ingest', { 'x-polymur-key': `key-42-${'x'.repeat(24)}`, 'content-encoding': 'gzip' }, heavy, gateway.cert.cert).catch(() => undefined);
    }, 100);
    try {
      const doc = await fetch(`http://127.0.0.1:${gateway.statPort}/status.json?keys_limit=100000`);
      const text = await doc.text();
      const parsed = JSON.parse(text) as { keys: { total: number; rows: unknown[] } };
      assert.equal(parsed.keys.total, KEYS);
      assert.equal(parsed.keys.rows.length, 200, 'a page is at most 200 keys, whatever is asked');
      console.log(`status.json with 200 of ${KEYS} keys: ${text.length} bytes`);

      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${gateway.statPort}/`);
      await page.waitForFunction(() => document.querySelectorAll('#keys tbody tr').length === 50, { timeout: 15_000 });
      const renderedMs = await page.evaluate(() => performance.now());
      console.log(`page with ${KEYS} keys: first table drawn ${Math.round(renderedMs)} ms after navigation started`);
      assert.equal(await page.$eval('#keys-page', (el) => el.textContent), `1–50 of ${KEYS.toLocaleString('en')}`);
      await page.waitForFunction(() => document.querySelector('#keys tbody tr td')?.textContent === 'tenant-00042', { timeout: 10_000 });
      // Sorting by name, then the next page.
      await page.click('#keys thead th.sortable');
      await page.waitForFunction(() => document.querySelector('#keys tbody tr td')?.textContent === 'tenant-00000', { timeout: 10_000 });
      await page.click('#keys-next');
      await page.waitForFunction(() => document.querySelector('#keys tbody tr td')?.textContent === 'tenant-00050', { timeout: 10_000 });
      await page.type('#keys-filter', 'tenant-0999');
      await page.waitForFunction(() => document.querySelectorAll('#keys tbody tr').length === 10, { timeout: 10_000 });
      await page.screenshot({ path: join(testOutputDir('status'), 'gateway-10000-keys.png'), fullPage: true });
    } finally {
      clearInterval(keepBusy);
    }
  } finally {
    await browser.close();
    await gateway.stop();
    await sink.close();
  }
});
