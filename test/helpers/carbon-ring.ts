// Where carbon itself places metric names: one run of Debian's carbon (its ConsistentHashingRouter,
// as carbon-relay uses it, with carbon's default DIVERSE_REPLICAS) per destination set, the names
// fed on stdin. The answer is, per name, the indices (into `destinations`) carbon picks, in order.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Carbon } from './carbon.js';
import { until } from './points.js';

const PLACE = `
import json, sys
from carbon.routers import ConsistentHashingRouter
from carbon.util import parseDestinations

class Settings:
    pass

req = json.load(sys.stdin)
settings = Settings()
settings.REPLICATION_FACTOR = req['replication']
settings.DIVERSE_REPLICAS = True
settings.ROUTER_HASH_TYPE = req['hashType']
router = ConsistentHashingRouter(settings)
destinations = parseDestinations(req['destinations'])
for d in destinations:
    router.addDestination(d)
index = {d: i for i, d in enumerate(destinations)}
json.dump([[index[d] for d in router.getDestinations(name)] for name in req['names']], sys.stdout)
`;

export async function carbonPlacement(opts: {
  destinations: readonly string[];
  names: readonly string[];
  hashType: 'carbon_ch' | 'fnv1a_ch';
  replication?: number;
}): Promise<number[][]> {
  // Debian's carbon is a module of /usr/bin/python3, not of whatever python3 is first on PATH.
  const proc = spawn('/usr/bin/python3', ['-c', PLACE], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, PYTHONIOENCODING: 'utf-8' } });
  let out = '';
  let err = '';
  proc.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  proc.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  const exited = new Promise<number | null>((resolve, reject) => {
    proc.once('error', reject);
    proc.once('close', resolve);
  });
  proc.stdin.end(JSON.stringify({ destinations: opts.destinations, names: opts.names, hashType: opts.hashType, replication: opts.replication ?? 1 }));
  const code = await exited;
  if (code !== 0) throw new Error(`carbon placement failed (exit ${code}):\n${err.slice(-2000)}`);
  return JSON.parse(out) as number[][];
}

/**
 * Waits until every metric has its whisper file on the carbon(s) `expected` names for it (one, or
 * its replicas), then requires that no other carbon has one and that each file holds exactly
 * `points` of that metric.
 */
export async function assertStoredOn(
  carbons: readonly Carbon[],
  expected: ReadonlyMap<string, number | readonly number[]>,
  points: (metric: string) => Array<[number, number]>,
  timeoutMs = 60_000,
): Promise<void> {
  const metrics = [...expected.keys()];
  const on = (m: string): readonly number[] => [expected.get(m)!].flat();
  await until(`${metrics.length} whisper files`, () => metrics.every((m) => on(m).every((i) => existsSync(carbons[i]!.whisperPath(m)))), timeoutMs);
  const misplaced = metrics.flatMap((m) => carbons.flatMap((c, i) => (!on(m).includes(i) && existsSync(c.whisperPath(m)) ? [`${m} also on carbon #${i}`] : [])));
  assert.deepEqual(misplaced, []);
  // carbon writes a file's points as its cache drains: wait until they are all there.
  const wrong = async (): Promise<string[]> => {
    const out: string[] = [];
    for (const [i, c] of carbons.entries()) {
      const mine = metrics.filter((m) => on(m).includes(i));
      if (mine.length === 0) continue;
      for (const [m, stored] of await c.fetchMany(mine)) {
        if (JSON.stringify(stored) !== JSON.stringify(points(m))) out.push(`${m} on #${i}: ${JSON.stringify(stored)} != ${JSON.stringify(points(m))}`);
      }
    }
    return out;
  };
  let last: string[] = [];
  await until('the stored values', async () => (last = await wrong()).length === 0, timeoutMs).catch(() => assert.deepEqual(last.slice(0, 5), []));
}
