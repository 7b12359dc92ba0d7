// The UDP and pickle input flags, refused before anything starts (Go flag's exit code 2), on both
// programs that take them; an address already taken stops the program with the listen error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { runToExit, type ProgramName } from '../../harness/programs.js';

const BASE: Record<'proxy' | 'relay', string[]> = {
  proxy: ['-listen-addr', '127.0.0.1:0', '-stat-addr', '127.0.0.1:0', '-console-out'],
  relay: ['-listen-addr', '127.0.0.1:0', '-stat-addr', '127.0.0.1:0', '-api-addr', '127.0.0.1:0', '-console-out'],
};

const cases: Array<[string, string[], RegExp]> = [
  ['a -listen-udp that is no address', ['-listen-udp', 'udp-please'], /invalid value for flag -listen-udp: bad address "udp-please"/],
  ['a -listen-pickle without a port', ['-listen-pickle', '127.0.0.1'], /invalid value for flag -listen-pickle: bad address "127\.0\.0\.1"/],
  ['a -max-pickle-bytes of 0', ['-max-pickle-bytes', '0'], /invalid value "0" for flag -max-pickle-bytes: must be at least 1/],
  ['a -udp-receive-buffer of 0', ['-udp-receive-buffer', '0'], /invalid value "0" for flag -udp-receive-buffer: must be at least 1/],
];

for (const program of ['proxy', 'relay'] as const) {
  for (const [what, args, message] of cases) {
    test(`${program} refuses ${what} (exit 2)`, async () => {
      const r = await runToExit(program as ProgramName, [...BASE[program], ...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
    });
  }
}

test('relay stops when its -listen-udp address is taken', async () => {
  const taken = createSocket('udp4');
  taken.bind(0, '127.0.0.1');
  await once(taken, 'listening');
  try {
    const r = await runToExit('relay', [...BASE.relay, '-listen-udp', `127.0.0.1:${taken.address().port}`]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /EADDRINUSE/);
  } finally {
    taken.close();
  }
});
