import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlagError, parseFlags, usage, type FlagSpec } from '../../src/config/flags.js';
import { parseDuration } from '../../src/config/duration.js';
import { PROXY_FLAGS } from '../../src/config/programs.js';
import { readProxyConfig } from '../../src/config/proxy-config.js';
import { ConfigError, FlagReader } from '../../src/config/validate.js';
import { runToExit, type ProgramName } from '../../harness/programs.js';
import { readFileSync } from 'node:fs';
import { gzipEngine } from '../../src/forward/gzip.js';

const SPECS: FlagSpec[] = [
  { name: 'listen-addr', type: 'string', default: '0.0.0.0:2003', usage: 'listen address' },
  // Unbounded, so that every form Go parses can be shown; ranges have tests of their own.
  { name: 'workers', type: 'int', default: 3, range: {}, usage: 'workers' },
  { name: 'console-out', type: 'bool', default: false, usage: 'console' },
  { name: 'verbose', type: 'bool', default: true, usage: 'verbose' },
  { name: 'timeout', type: 'duration', default: '30s', range: {}, usage: 'timeout' },
];

test('Go flag syntax: every accepted form', () => {
  const cases: Array<[string[], Record<string, unknown>, string[]]> = [
    [[], { 'listen-addr': '0.0.0.0:2003', workers: 3, 'console-out': false, verbose: true, timeout: 30_000 }, []],
    [['-workers', '7'], { workers: 7 }, []],
    [['-workers=7'], { workers: 7 }, []],
    [['--workers=7'], { workers: 7 }, []],
    [['--workers', '7'], { workers: 7 }, []],
    [['-workers', '0x10'], { workers: 16 }, []],
    [['-workers', '-2'], { workers: -2 }, []],
    [['-console-out'], { 'console-out': true }, []],
    [['-verbose=false'], { verbose: false }, []],
    [['-verbose=0'], { verbose: false }, []],
    [['-verbose=F'], { verbose: false }, []],
    [['-console-out=TRUE'], { 'console-out': true }, []],
    [['-timeout', '1m30s'], { timeout: 90_000 }, []],
    [['-timeout=250ms'], { timeout: 250 }, []],
    [['-listen-addr', ':2004'], { 'listen-addr': ':2004' }, []],
    [['-listen-addr='], { 'listen-addr': '' }, []],
    [['-console-out', 'list', 'names'], { 'console-out': true }, ['list', 'names']],
    [['create', '-workers', '2'], { workers: 3 }, ['create', '-workers', '2']],
    [['--', '-workers', '2'], { workers: 3 }, ['-workers', '2']],
    [['-workers', '2', '-'], { workers: 2 }, ['-']],
  ];
  for (const [argv, expected, args] of cases) {
    const parsed = parseFlags(SPECS, argv, {}, 'TEST');
    for (const [k, v] of Object.entries(expected)) assert.equal(parsed.values[k], v, `${argv.join(' ')} -> ${k}`);
    assert.deepEqual(parsed.args, args, argv.join(' '));
  }
});

test('bad flags are errors with exit code 2 and Go wording; -h is exit 0', () => {
  const cases: Array<[string[], RegExp, number]> = [
    [['-nope'], /^flag provided but not defined: -nope$/, 2],
    [['-workers', 'many'], /^invalid value "many" for flag -workers: parse error$/, 2],
    [['-workers'], /^flag needs an argument: -workers$/, 2],
    [['-verbose=maybe'], /^invalid boolean value "maybe" for flag -verbose/, 2],
    [['-timeout', '10'], /^invalid value "10" for flag -timeout/, 2],
    [['---workers=1'], /^bad flag syntax: ---workers=1$/, 2],
    [['-=1'], /^bad flag syntax/, 2],
    [['-h'], /^$/, 0],
    [['-help'], /^$/, 0],
  ];
  for (const [argv, message, code] of cases) {
    assert.throws(
      () => parseFlags(SPECS, argv, {}, 'TEST'),
      (err: unknown) => err instanceof FlagError && message.test(err.message) && err.exitCode === code,
      argv.join(' '),
    );
  }
});

test('environment fallback; the command line wins; a bad environment value is an error', () => {
  const env = { TEST_WORKERS: '9', TEST_LISTEN_ADDR: '127.0.0.1:9', TEST_CONSOLE_OUT: 'true', TEST_TIMEOUT: '2s' };
  const fromEnv = parseFlags(SPECS, [], env, 'TEST').values;
  assert.deepEqual([fromEnv.workers, fromEnv['listen-addr'], fromEnv['console-out'], fromEnv.timeout], [9, '127.0.0.1:9', true, 2000]);
  assert.equal(parseFlags(SPECS, ['-workers=4'], env, 'TEST').values.workers, 4);
  assert.throws(() => parseFlags(SPECS, [], { TEST_WORKERS: 'x' }, 'TEST'), /TEST_WORKERS/);
});

test('Go durations', () => {
  const cases: Array<[string, number | undefined]> = [
    ['0', 0],
    ['1s', 1000],
    ['1.5h', 5_400_000],
    ['2h45m', 9_900_000],
    ['300ms', 300],
    ['-1s', -1000],
    ['1us', 0.001],
    ['1µs', 0.001],
    ['', undefined],
    ['1', undefined],
    ['s', undefined],
    ['1x', undefined],
    ['1s2', undefined],
  ];
  for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, text);
});

test('usage lists flags sorted with their defaults, as Go prints them', () => {
  const text = usage('prog', SPECS);
  assert.match(text, /^Usage of prog:\n  -console-out\n    \tconsole\n/);
  assert.match(text, /  -listen-addr string\n    \tlisten address \(default "0.0.0.0:2003"\)\n/);
  assert.match(text, /  -workers int\n    \tworkers \(default 3\)\n/);
  assert.match(text, /  -timeout duration\n    \ttimeout \(default 30s\)\n/);
});

test('proxy configuration is validated once: missing gateway or key, bad policy', () => {
  const read = (argv: string[]) => readProxyConfig(FlagReader.of(PROXY_FLAGS, parseFlags(PROXY_FLAGS, argv, {}, 'P').values));
  assert.throws(
    () => read([]),
    (e: unknown) => e instanceof ConfigError && /no gateway/.test(e.message),
  );
  assert.throws(() => read(['-gateway', 'https://gw']), /no API key/);
  assert.throws(() => read(['-gateway', 'gw:443', '-api-key', 'k']), /not a URL|http/);
  assert.throws(() => read(['-console-out', '-when-full', 'sometimes']), /-when-full must be one of block, drop/);
  assert.throws(
    () => read(['-console-out', '-workers', '0']),
    (e: unknown) => e instanceof FlagError && e.message === 'invalid value "0" for flag -workers: must be at least 1',
  );
  const ok = read(['-gateway', 'https://a,https://b', '-api-key', 'k', '-flush-interval', '250ms']);
  assert.deepEqual(ok.gateways, ['https://a', 'https://b']);
  assert.equal(ok.flushIntervalMs, 250);
});

test('a program exits 2 with a message on a bad flag and on a bad configuration, 0 on -h', async () => {
  const bad = await runToExit('proxy', ['-no-such-flag']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /flag provided but not defined: -no-such-flag/);
  assert.match(bad.stderr, /Usage of polymur-proxy:/);
  const badValue = await runToExit('relay', ['-outgoing-queue-cap', 'lots']);
  assert.equal(badValue.code, 2);
  assert.match(badValue.stderr, /invalid value "lots" for flag -outgoing-queue-cap/);
  const badConfig = await runToExit('gateway', ['-cert', '/x.pem', '-console-out']);
  assert.equal(badConfig.code, 2);
  assert.match(badConfig.stderr, /needs both -cert and -key/);
  const help = await runToExit('gateway', ['-h']);
  assert.equal(help.code, 0);
  assert.match(help.stderr, /-key-store string/);
});

test('every program prints its version with -version and exits 0', async () => {
  const version = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  const names: Array<[ProgramName, string]> = [
    ['proxy', 'polymur-proxy'],
    ['gateway', 'polymur-gateway'],
    ['relay', 'polymur'],
    ['keys', 'polymur-keys'],
  ];
  for (const [name, shown] of names) {
    const r = await runToExit(name, ['-version']);
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    assert.equal(r.stdout, `${shown} ${version} (Node.js ${process.version}; ${gzipEngine})\n`);
  }
});

test('an argument left after the flags exits 2 (a bool given as "-flag false" ends the flags)', async () => {
  for (const name of ['proxy', 'gateway', 'relay'] as const) {
    const r = await runToExit(name, ['-console-out', 'false', '-listen-addr', '127.0.0.1:0']);
    assert.equal(r.code, 2, `${name}: ${r.stderr}`);
    assert.match(r.stderr, /unexpected argument "false" after the flags \(a boolean flag takes its value as -flag=value\)/);
  }
  // polymur-keys takes its command after the flags.
  const keys = await runToExit('keys', ['-key-store', 'file:/nonexistent-dir/k.json', 'list', 'names']);
  assert.notEqual(keys.code, 2, keys.stderr);
});
