// polymur-keys rotate, retire, create/regen -expires and list all as real processes against a file
// store (etcd through the race test): what each writes (read back without our code), what it prints, its refusals
// and exit codes; a real gateway accepting both keys of a rotating name and refusing the old one
// once it expires; and rotate racing other processes' record edits (update-record.ts) without
// losing any.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashedEntry } from '../../src/keys/entry.js';
import { startEtcd } from '../helpers/etcd.js';
import { post } from '../helpers/https-post.js';
import { runToExit } from '../../harness/programs.js';
import { until } from '../helpers/points.js';
import { startGateway, writeKeyFile } from '../../harness/system.js';

const keys = (store: string, ...args: string[]) => runToExit('keys', ['-key-store', store, ...args]);
const keyIn = (output: string): string => /with key ([0-9a-f]{40})\n/.exec(output)?.[1] ?? assert.fail(output);

/** Every command against one store; `raw` reads a name's stored value without our code. */
async function exerciseRotation(store: string, raw: (name: string) => Promise<unknown>): Promise<void> {
  const created = await keys(store, 'create', 'site', '-expires', '2099-01-01');
  assert.equal(created.code, 0, created.stderr);
  const first = keyIn(created.stdout);
  assert.match(created.stdout, /^Successfully registered site with key [0-9a-f]{40}\nThe new key of site expires at 2099-01-01T00:00:00\.000Z\n$/);
  assert.deepEqual(await raw('site'), { keys: [{ key: hashedEntry(first), expires: '2099-01-01T00:00:00.000Z' }] });

  const rotated = await keys(store, 'rotate', 'site');
  assert.equal(rotated.code, 0, rotated.stderr);
  const second = keyIn(rotated.stdout);
  assert.match(rotated.stdout, /^Successfully rotated site with key [0-9a-f]{40}\nThe old key stays valid until 2099-01-01T00:00:00\.000Z or polymur-keys retire site\n$/);
  assert.deepEqual(await raw('site'), { keys: [{ key: hashedEntry(first), expires: '2099-01-01T00:00:00.000Z' }, { key: hashedEntry(second) }] });
  const listed = await keys(store, 'list', 'all');
  assert.equal(listed.stdout, `site: ${hashedEntry(first)} (hashed, expires 2099-01-01T00:00:00.000Z), ${hashedEntry(second)} (hashed, newest)\n`);

  const third = await keys(store, 'rotate', 'site');
  assert.deepEqual([third.code, third.stdout], [1, '']);
  assert.equal(third.stderr, 'site holds 2 keys already (a rotation in progress): retire the old one first (polymur-keys retire site)\n');

  const retired = await keys(store, 'retire', 'site');
  assert.deepEqual([retired.code, retired.stdout], [0, 'Successfully retired the old key of site\n']);
  assert.equal(await raw('site'), hashedEntry(second), 'one key and nothing else: the original form again');
  assert.equal((await keys(store, 'list', 'all')).stdout, `site: ${hashedEntry(second)}\n`, "the original's line");
  const again = await keys(store, 'retire', 'site');
  assert.deepEqual([again.code, again.stderr], [1, 'site has one key: nothing to retire (polymur-keys rotate site adds a new one)\n']);

  // -expire-old, flags before or after NAME.
  const before = Date.now();
  const expiring = await keys(store, 'rotate', '-expire-old', '24h', 'site');
  assert.equal(expiring.code, 0, expiring.stderr);
  const record = (await raw('site')) as { keys: Array<{ key: string; expires?: string }> };
  const expires = Date.parse(record.keys[0]!.expires!);
  assert.ok(expires >= before + 86_400_000 && expires <= Date.now() + 86_400_000, `old key expires in 24 h: ${record.keys[0]!.expires}`);
  assert.deepEqual(
    record.keys.map((k) => k.key),
    [hashedEntry(second), hashedEntry(keyIn(expiring.stdout))],
  );
  assert.match(expiring.stdout, /The old key stays valid until \S+Z or polymur-keys retire site\n$/);
}

const parsed = (value: string | undefined): unknown => (value === undefined ? undefined : value.startsWith('{') ? JSON.parse(value) : value);

test('rotate, retire, -expires, -expire-old and list all (file store; etcd: the race test below)', async () => {
  const file = writeKeyFile({});
  await exerciseRotation(file.url, async (name) => parsed((JSON.parse(readFileSync(file.path, 'utf8')) as Record<string, string>)[name]));
});

test('refusals and usage errors of rotate, retire and -expires: exit 1 or 2 with the reason, nothing written', async () => {
  const file = writeKeyFile({ site: hashedEntry('k1') });
  const cases: Array<[string[], number, string | RegExp]> = [
    [['rotate', 'nobody'], 1, "Key nobody doesn't exist\n"],
    [['retire', 'nobody'], 1, "Key nobody doesn't exist\n"],
    [['create', 'late', '-expires', '2020-01-01'], 2, /^-expires 2020-01-01 is in the past/],
    [['create', 'late', '-expires', 'tomorrow'], 2, /^invalid value "tomorrow" for flag -expires: give an ISO 8601 date/],
    [['create', 'late', '-expires', '2099-02-30'], 2, /^invalid value "2099-02-30" for flag -expires/],
    [['rotate', 'site', '-expire-old', '-1h'], 2, /^polymur-keys rotate: invalid value "-1h" for flag -expire-old: must not be negative/],
    [['rotate', 'site', '-expire-old', 'soon'], 2, /^polymur-keys rotate: invalid value "soon" for flag -expire-old: parse error/],
    [['rotate', 'site', '-bogus'], 2, /^polymur-keys rotate: flag provided but not defined: -bogus/],
    [['rotate'], 2, /^polymur-keys rotate takes one NAME/],
    [['retire', 'a', 'b'], 2, /^polymur-keys retire takes one NAME/],
  ];
  const runs = await Promise.all(cases.map(([args]) => keys(file.url, ...args)));
  cases.forEach(([args, code, message], i) => {
    const r = runs[i]!;
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '', args.join(' '));
    if (typeof message === 'string') assert.equal(r.stderr, message, args.join(' '));
    else assert.match(r.stderr, message, args.join(' '));
    if (code === 2) assert.match(r.stderr, /\n\nUsage: polymur-keys /, 'usage errors print the usage');
  });
  assert.deepEqual(JSON.parse(readFileSync(file.path, 'utf8')), { site: hashedEntry('k1') }, 'refused commands wrote nothing');
});

test('list all: plaintext and hashed keys, expiries, limits and allowed prefixes on one line per name; regen keeps limits and prefixes', async () => {
  const file = writeKeyFile({
    legacy: '0a8208f91d178f2b634fc0f6',
    tenant: JSON.stringify({
      keys: [{ key: 'old-plain-key' }, { key: hashedEntry('k2') }],
      limits: { pointsPerSecond: 1000, burst: 5000, maxNames: 20000 },
      allow: ['site1.', 'shared.site1.'],
    }),
    broken: '{"keys":[]}',
  });
  assert.equal(
    (await keys(file.url, 'list', 'all')).stdout,
    'broken: {"keys":[]} (unusable: "keys" must list 1 to 2 keys)\n' +
      'legacy: 0a8208f91d178f2b634fc0f6\n' +
      `tenant: old-plain-key (plaintext), ${hashedEntry('k2')} (hashed, newest); limits: 1000 points/s, burst 5000, 20000 names/hour; allow: site1. shared.site1.\n`,
  );
  const regen = await keys(file.url, 'regen', 'tenant');
  assert.equal(regen.code, 0, regen.stderr);
  const stored = JSON.parse((JSON.parse(readFileSync(file.path, 'utf8')) as Record<string, string>).tenant!) as unknown;
  assert.deepEqual(stored, {
    keys: [{ key: hashedEntry(keyIn(regen.stdout)) }],
    limits: { pointsPerSecond: 1000, burst: 5000, maxNames: 20000 },
    allow: ['site1.', 'shared.site1.'],
  });
  const broken = await keys(file.url, 'rotate', 'broken');
  assert.deepEqual([broken.code, broken.stderr], [1, 'the stored value of broken is unusable ("keys" must list 1 to 2 keys): fix or delete it first\n']);
});

test('a real gateway: both keys of a rotating name work; the old one, rotated with -expire-old 2s, is refused once expired and logged once', async (t) => {
  const file = writeKeyFile({});
  const oldKey = keyIn((await keys(file.url, 'create', 'site')).stdout);
  const gateway = await startGateway({ keyFile: file, args: ['-console-out'] });
  t.after(() => gateway.stop());
  const ping = async (key: string): Promise<number> => (await post(gateway.port, '/ping', { 'x-polymur-key': key }, Buffer.alloc(0), gateway.cert.cert)).status;
  assert.equal(await ping(oldKey), 200);
  const newKey = keyIn((await keys(file.url, 'rotate', 'site', '-expire-old', '2s')).stdout);
  await until('the gateway to accept the new key', async () => (await ping(newKey)) === 200, 10_000);
  assert.equal(await ping(oldKey), 200, 'the old key works beside the new one until it expires');
  await until('the old key to expire', async () => (await ping(oldKey)) === 401, 10_000);
  assert.equal(await ping(oldKey), 401);
  assert.equal(await ping(newKey), 200);
  assert.equal(gateway.stderr().split('API key of site expired at').length - 1, 1, 'the expired key is logged once');
});

const editor = join(dirname(fileURLToPath(import.meta.url)), '..', 'helpers', 'record-editor.js');
async function editAllow(store: string, name: string, prefix: string): Promise<number | null> {
  const p = spawn(process.execPath, [editor, store, name, prefix], { stdio: ['ignore', 'ignore', 'inherit'] });
  const [code] = (await once(p, 'exit')) as [number | null];
  return code;
}

const EDITORS = 6;

/** rotate and EDITORS other processes editing the same record at once: the record ends with every edit. */
async function raceEdits(store: string, read: () => Promise<string>): Promise<void> {
  const created = await keys(store, 'create', 'site');
  const first = keyIn(created.stdout);
  const prefixes = Array.from({ length: EDITORS }, (_, i) => `p${i}.`);
  const [rotated, ...edits] = await Promise.all([keys(store, 'rotate', 'site'), ...prefixes.map((p) => editAllow(store, 'site', p))]);
  assert.equal(rotated!.code, 0, rotated!.stderr);
  assert.deepEqual(
    edits,
    prefixes.map(() => 0),
  );
  const record = JSON.parse(await read()) as { keys: Array<{ key: string }>; allow: string[] };
  process.stdout.write(`# rotate racing ${EDITORS} record edits (${store.split(':')[0]}): ${record.keys.length} keys, ${record.allow.length} of ${EDITORS} prefixes kept\n`);
  assert.deepEqual(
    record.keys.map((k) => k.key),
    [hashedEntry(first), hashedEntry(keyIn(rotated!.stdout))],
    'the rotation is kept',
  );
  assert.deepEqual([...record.allow].sort(), prefixes, 'every edit is kept');
}

test('rotate racing 6 processes editing the same record (file store): no edit lost', async () => {
  const file = writeKeyFile({});
  await raceEdits(file.url, async () => (JSON.parse(readFileSync(file.path, 'utf8')) as Record<string, string>).site!);
});

test('rotate racing 6 processes editing the same record (etcd): no edit lost', async () => {
  const etcd = await startEtcd();
  try {
    await raceEdits(`etcd://${etcd.endpoint}`, () => etcd.ctl('get', 'polymur/gateway/keys/site', '--print-value-only'));
  } finally {
    await etcd.stop();
  }
});
