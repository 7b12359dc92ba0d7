// -log-format: text is the original's Go log lines; json is one object per line, the same messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatLogLine } from '../../src/observe/log.js';
import { freePort } from '../helpers/carbon.js';
import { runToExit, startProgram } from '../../harness/programs.js';

test('formatLogLine: Go log format or one JSON object', () => {
  const at = new Date(2026, 10, 24, 14, 26, 53, 120);
  assert.equal(formatLogLine('HTTP writer #0 started', 'text', at), '2026/11/24 14:26:53 HTTP writer #0 started\n');
  assert.equal(formatLogLine('say "hi"\n', 'json', at), `{"time":"${at.toISOString()}","msg":"say \\"hi\\"\\n"}\n`);
});

test('a relay with -log-format json writes every log line as a JSON object; a bad format exits 2', async () => {
  const port = await freePort();
  const relay = startProgram('relay', ['-console-out', '-listen-addr', `127.0.0.1:${port}`, '-stat-addr', '127.0.0.1:0', '-api-addr', '127.0.0.1:0', '-log-format', 'json']);
  try {
    await relay.waitForLog(/"msg":"Metrics listener started: 127\.0\.0\.1:\d+"/);
  } finally {
    await relay.stop('SIGTERM');
  }
  const lines = relay.stderr().trim().split('\n');
  assert.ok(lines.length >= 3, relay.stderr());
  for (const line of lines) {
    const entry = JSON.parse(line) as { time: string; msg: string };
    assert.deepEqual(Object.keys(entry), ['time', 'msg'], line);
    assert.ok(Math.abs(Date.parse(entry.time) - Date.now()) < 120_000, line);
  }
  assert.ok(lines.some((l) => (JSON.parse(l) as { msg: string }).msg === '::: Polymur :::'));

  const bad = await runToExit('relay', ['-console-out', '-log-format', 'xml']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /-log-format must be one of text, json; got "xml"/);
});
