// Routing flags the relay refuses before it starts, with Go flag's exit code 2 and a clear reason.
// (Broadcast to two destinations on one host is accepted: failover.test.ts runs one.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runToExit } from '../../harness/programs.js';

const cases: Array<[string, string[], RegExp]> = [
  ['a bad destination', ['-destinations', '127.0.0.1:2003,nonsense'], /-destinations: bad destination "nonsense": expected host:port/],
  ['two destinations that are one ring node', ['-destinations', '127.0.0.1:2003,127.0.0.1:2103', '-distribution', 'hash-route'], /same ring node \(127\.0\.0\.1, None\)/],
  [
    'a replication factor above the distinct hosts',
    ['-destinations', '127.0.0.1:2003:a,127.0.0.1:2103:b', '-distribution', 'hash-route', '-replication-factor', '2'],
    /at least as many distinct hosts \(got 1\)/,
  ],
  ['an unknown hash type', ['-destinations', '127.0.0.1:2003', '-distribution', 'hash-route', '-hash-type', 'md5'], /-hash-type must be one of carbon_ch, fnv1a_ch/],
  ['an unknown full policy', ['-destinations', '127.0.0.1:2003', '-when-full', 'wait'], /-when-full must be one of block, drop; got "wait"/],
  ['a negative write timeout', ['-destinations', '127.0.0.1:2003', '-write-timeout', '-1s'], /invalid value "-1s" for flag -write-timeout: must not be negative/],
  ['a negative resend window', ['-destinations', '127.0.0.1:2003', '-resend-window', '-5ms'], /invalid value "-5ms" for flag -resend-window: must not be negative/],
  ['a negative resend window size', ['-destinations', '127.0.0.1:2003', '-resend-window-bytes', '-1'], /invalid value "-1" for flag -resend-window-bytes: must not be negative/],
  [
    'both -destinations and -destinations-file',
    ['-destinations', '127.0.0.1:2003', '-destinations-file', '/nonexistent/destinations'],
    /give -destinations or -destinations-file, not both/,
  ],
  ['a -destinations-file that does not exist', ['-destinations-file', '/nonexistent/destinations'], /-destinations-file: \/nonexistent\/destinations: no such file/],
];

for (const [what, args, message] of cases) {
  test(`relay refuses ${what} (exit 2)`, async () => {
    const r = await runToExit('relay', ['-listen-addr', '127.0.0.1:0', '-stat-addr', '127.0.0.1:0', '-api-addr', '127.0.0.1:0', ...args]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
  });
}
