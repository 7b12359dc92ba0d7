// Ranges declared in the flag tables (src/config/programs.ts) are checked once, when the flags are
// parsed: a value out of range is exit 2 with Go flag's wording and the flag's name. The reader is
// typed by the table: a misspelt flag, or a flag read as another type, does not compile (each
// expected-error line below fails the build if it ever stops being an error).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlagError, parseFlags, rangeProblem, type FlagSpec } from '../../src/config/flags.js';
import { deepFreeze } from '../../src/config/freeze.js';
import { GATEWAY_FLAGS, PROXY_FLAGS, RELAY_FLAGS } from '../../src/config/programs.js';
import { readProxyConfig } from '../../src/config/proxy-config.js';
import { FlagReader } from '../../src/config/validate.js';
import { runToExit } from '../../harness/programs.js';

const TABLES: Array<[string, readonly FlagSpec[]]> = [
  ['proxy', PROXY_FLAGS],
  ['gateway', GATEWAY_FLAGS],
  ['relay', RELAY_FLAGS],
];

function parseError(specs: readonly FlagSpec[], argv: string[], env: NodeJS.ProcessEnv = {}): string {
  try {
    parseFlags(specs, argv, env, 'P');
  } catch (err) {
    assert.ok(err instanceof FlagError, String(err));
    assert.equal(err.exitCode, 2);
    assert.equal(err.code, 'POLYMUR_ERR_FLAG');
    return err.message;
  }
  assert.fail(`${argv.join(' ')} was accepted`);
}

test('a bad value of each kind of range is refused with the flag named, Go style', () => {
  const rows: Array<[readonly FlagSpec[], string[], string]> = [
    // Durations that must be positive, and ones that may be 0 but not negative.
    [PROXY_FLAGS, ['-flush-interval', '0s'], 'invalid value "0s" for flag -flush-interval: must be positive'],
    [PROXY_FLAGS, ['-timeout=-5ms'], 'invalid value "-5ms" for flag -timeout: must be positive'],
    [PROXY_FLAGS, ['-max-retry-delay', '0'], 'invalid value "0" for flag -max-retry-delay: must be positive'],
    [PROXY_FLAGS, ['-shutdown-timeout', '-1s'], 'invalid value "-1s" for flag -shutdown-timeout: must not be negative'],
    [PROXY_FLAGS, ['-idle-timeout', '-1m'], 'invalid value "-1m" for flag -idle-timeout: must not be negative'],
    [GATEWAY_FLAGS, ['-key-refresh', '-30s'], 'invalid value "-30s" for flag -key-refresh: must not be negative'],
    [GATEWAY_FLAGS, ['-read-header-timeout', '0s'], 'invalid value "0s" for flag -read-header-timeout: must be positive'],
    [RELAY_FLAGS, ['-write-timeout', '-1s'], 'invalid value "-1s" for flag -write-timeout: must not be negative'],
    [RELAY_FLAGS, ['-resend-window', '-1ms'], 'invalid value "-1ms" for flag -resend-window: must not be negative'],
    // Sizes and counts.
    [PROXY_FLAGS, ['-workers', '0'], 'invalid value "0" for flag -workers: must be at least 1'],
    [PROXY_FLAGS, ['-batch-size', '-1'], 'invalid value "-1" for flag -batch-size: must be at least 1'],
    [PROXY_FLAGS, ['-queue-max-bytes', '0'], 'invalid value "0" for flag -queue-max-bytes: must be at least 1'],
    [PROXY_FLAGS, ['-max-connections-per-ip', '-1'], 'invalid value "-1" for flag -max-connections-per-ip: must not be negative'],
    [PROXY_FLAGS, ['-metrics-flush', '-10'], 'invalid value "-10" for flag -metrics-flush: must not be negative'],
    [GATEWAY_FLAGS, ['-max-body-bytes', '0'], 'invalid value "0" for flag -max-body-bytes: must be at least 1'],
    [RELAY_FLAGS, ['-replication-factor', '0'], 'invalid value "0" for flag -replication-factor: must be at least 1'],
    [RELAY_FLAGS, ['-resend-window-bytes', '-4096'], 'invalid value "-4096" for flag -resend-window-bytes: must not be negative'],
    // Ports, on the gateway's string port flags (empty is no listener).
    [GATEWAY_FLAGS, ['-listen-http-port', '65536'], 'invalid value "65536" for flag -listen-http-port: must be a port number (0-65535)'],
    [GATEWAY_FLAGS, ['-listen-https-port', 'https'], 'invalid value "https" for flag -listen-https-port: must be a port number (0-65535)'],
    [GATEWAY_FLAGS, ['-listen-http-port=-1'], 'invalid value "-1" for flag -listen-http-port: must be a port number (0-65535)'],
  ];
  for (const [specs, argv, message] of rows) assert.equal(parseError(specs, argv), message, argv.join(' '));
  // From the environment: the variable and the flag named.
  assert.equal(parseError(RELAY_FLAGS, [], { P_MAX_CONNECTIONS: '0' }), 'invalid value "0" for environment variable P_MAX_CONNECTIONS (flag -max-connections): must be at least 1');
});

test('values at the edge of each range are accepted', () => {
  const rows: Array<[readonly FlagSpec[], string[], string, number | string]> = [
    [PROXY_FLAGS, ['-shutdown-timeout', '0s'], 'shutdown-timeout', 0],
    [PROXY_FLAGS, ['-flush-interval', '1us'], 'flush-interval', 0.001],
    [PROXY_FLAGS, ['-workers', '1'], 'workers', 1],
    [PROXY_FLAGS, ['-max-connections-per-ip', '0'], 'max-connections-per-ip', 0],
    [RELAY_FLAGS, ['-resend-window', '0'], 'resend-window', 0],
    [GATEWAY_FLAGS, ['-listen-http-port', '0'], 'listen-http-port', '0'],
    [GATEWAY_FLAGS, ['-listen-https-port', '65535'], 'listen-https-port', '65535'],
    [GATEWAY_FLAGS, ['-listen-https-port='], 'listen-https-port', ''],
  ];
  for (const [specs, argv, name, value] of rows) assert.equal(parseFlags(specs, argv, {}, 'P').values[name], value, argv.join(' '));
});

test('{ min, max } ranges, in the flag unit', () => {
  const spec: FlagSpec = { name: 'level', type: 'int', default: 5, range: { min: 1, max: 9 }, usage: '' };
  const wait: FlagSpec = { name: 'wait', type: 'duration', default: '1s', range: { min: 100 }, usage: '' };
  assert.equal(rangeProblem(spec, 0), 'must be at least 1');
  assert.equal(rangeProblem(spec, 10), 'must be at most 9');
  assert.equal(rangeProblem(spec, 9), undefined);
  assert.equal(parseError([wait], ['-wait', '50ms']), 'invalid value "50ms" for flag -wait: must be at least 100ms');
});

test('every int and duration flag of every program has a range, and its default is in it', () => {
  for (const [program, specs] of TABLES) {
    for (const spec of specs) {
      if (spec.type === 'int' || spec.type === 'duration') assert.ok(spec.range !== undefined, `${program} -${spec.name} has no range`);
      const parsed = parseFlags(specs, [], {}, 'P').values[spec.name]!;
      assert.equal(rangeProblem(spec, parsed), undefined, `${program} -${spec.name} default ${String(spec.default)}`);
    }
  }
});

test('the real programs exit 2 naming the flag out of range', async () => {
  const rows: Array<['proxy' | 'gateway' | 'relay', string[], NodeJS.ProcessEnv, string]> = [
    ['proxy', ['-console-out', '-flush-interval', '-1s'], {}, 'invalid value "-1s" for flag -flush-interval: must be positive'],
    ['gateway', ['-console-out', '-listen-http-port', '99999'], {}, 'invalid value "99999" for flag -listen-http-port: must be a port number (0-65535)'],
    ['relay', ['-console-out', '-write-timeout', '-1s'], {}, 'invalid value "-1s" for flag -write-timeout: must not be negative'],
    [
      'relay',
      ['-console-out'],
      { POLYMUR_OUTGOING_QUEUE_CAP: '0' },
      'invalid value "0" for environment variable POLYMUR_OUTGOING_QUEUE_CAP (flag -outgoing-queue-cap): must be at least 1',
    ],
  ];
  await Promise.all(
    rows.map(async ([program, argv, env, message]) => {
      const r = await runToExit(program, argv, env);
      assert.equal(r.code, 2, `${program} ${argv.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.split('\n')[0], message);
    }),
  );
});

test('the reader takes only the names and types of its table', () => {
  const f = FlagReader.of(PROXY_FLAGS, parseFlags(PROXY_FLAGS, ['-workers', '4'], {}, 'P').values);
  assert.equal(f.int('workers'), 4);
  assert.equal(f.ms('flush-interval'), 1000);
  // @ts-expect-error: a misspelt flag does not compile
  assert.throws(() => f.int('wokers'), /no flag -wokers/);
  // @ts-expect-error: an int flag is not read as a duration
  f.ms('workers');
  // @ts-expect-error: a gateway-only flag is not in the proxy's table
  assert.throws(() => f.string('key-store'), /no flag -key-store/);
  // @ts-expect-error: an int flag without its range does not compile in a table
  const unranged: FlagSpec = { name: 'size', type: 'int', default: 1, usage: '' };
  assert.ok(unranged);
});

test('the configuration a program runs with is frozen, all the way down', () => {
  const values = parseFlags(PROXY_FLAGS, ['-gateway', 'https://a,https://b', '-api-key', 'k'], {}, 'P').values;
  const config = deepFreeze(readProxyConfig(FlagReader.of(PROXY_FLAGS, values), {}));
  assert.ok(Object.isFrozen(config));
  assert.ok(Object.isFrozen(config.gateways));
  assert.throws(() => {
    (config as { workers: number }).workers = 1000;
  }, TypeError);
  assert.throws(() => (config.gateways as string[]).push('https://c'), TypeError);
  assert.deepEqual(config.gateways, ['https://a', 'https://b']);
  // Live objects a config carries keep working: a compiled pattern moves its lastIndex as it matches.
  const rules = deepFreeze({ patterns: [/old\./g], cache: new Map<string, string>() });
  assert.ok(Object.isFrozen(rules.patterns));
  assert.ok(rules.patterns[0]!.test('an old.name'));
  rules.cache.set('a', 'b');
});
