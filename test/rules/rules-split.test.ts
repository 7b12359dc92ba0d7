// The relay's one pass of rules and hash-route (rule-engine.ts split()): every line lands, renamed
// as apply() renames it, on the destinations carbon's own ring picks for the new name, cold and
// warm (the verdict cache holds the placement), with replication 2, and again after the ring
// changes (a destination left: the cached placements are for the old ring); drops are counted by
// reason and never placed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { metricNames } from '../../harness/load-generator.js';
import { parseDestinations } from '../../src/route/destination.js';
import { createHashRing } from '../../src/route/hash-ring.js';
import { parseRegexList } from '../../src/rules/parse-regex-list.js';
import { parseRewriteRules } from '../../src/rules/parse-rewrite.js';
import { createRuleEngine } from '../../src/rules/rule-engine.js';
import { carbonPlacement } from '../helpers/carbon-ring.js';

const NAMES = metricNames(3000, 5);
const rewrite = parseRewriteRules('r.conf', Buffer.from('[pre]\n^collectd\\.host-(\\d+)\\. = servers.host\\1.\n\\.cpu-(\\d+)\\. = .cpu.\\1.\n'));
const RULES = { pre: rewrite.pre, post: [], blacklist: parseRegexList('b.conf', Buffer.from('host-00[0-4]\\.\n')), whitelist: [], tagNormalize: false };
const engine = () => createRuleEngine(RULES, { maxNames: 100_000, counters: { hit: () => undefined, miss: () => undefined } });

/** Every name twice, some lines with a TAB or leading blanks. */
const batch = Buffer.from(
  [...NAMES, ...NAMES].map((n, i) => (i % 3 === 0 ? `${n}\t${i} 1700000000\n` : i % 3 === 1 ? `  ${n} ${i} 1700000000\n` : `${n} ${i} 1700000000\n`)).join(''),
  'latin1',
);
const nameOf = (line: string): string => line.trimStart().split(/[ \t]/)[0]!;
const valueOf = (line: string): string => line.trimStart().split(/[ \t]+/)[1]!;

/** value -> (name as renamed, node indexes it went to). */
function placements(parts: ReadonlyMap<number, { data: Buffer; points: number }>): Map<string, { name: string; nodes: number[] }> {
  const seen = new Map<string, { name: string; nodes: number[] }>();
  for (const [node, part] of parts) {
    const lines = part.data.toString('latin1').split('\n').slice(0, -1);
    assert.equal(lines.length, part.points);
    for (const line of lines) {
      const v = valueOf(line);
      const s = seen.get(v) ?? { name: nameOf(line), nodes: [] };
      assert.equal(s.name, nameOf(line));
      s.nodes.push(node);
      seen.set(v, s);
    }
  }
  return seen;
}

for (const replication of [1, 2]) {
  test(`rules and hash-route in one pass, replication ${replication}: renamed as apply() renames, placed where carbon places the new name, cold, warm and after a ring change`, async () => {
    const destinations = ['127.0.0.1:2103:a', '127.0.0.2:2203:b', '127.0.0.3:2303:c'];
    const e = engine();
    const applied = e.apply(batch, '');
    const renamedLines = applied.data.toString('latin1').split('\n').slice(0, -1);
    const expectedName = new Map(renamedLines.map((l) => [valueOf(l), nameOf(l)]));
    const kept = [...new Set(expectedName.values())];
    assert.ok(applied.dropped.get('blacklist')! > 0 && applied.renamed > 0, 'the rules drop and rename');

    for (const [label, dests] of [
      ['three destinations', destinations],
      ['one left the ring', destinations.slice(0, 2)],
    ] as const) {
      const carbon = await carbonPlacement({ destinations: dests, names: kept, hashType: 'carbon_ch', replication });
      const owners = new Map(kept.map((n, i) => [n, [...carbon[i]!].sort()]));
      const ring = createHashRing(parseDestinations(dests.join(',')), 'carbon_ch');
      for (const round of ['cold', 'warm']) {
        const out = e.split(batch, '', ring, replication);
        assert.equal(out.points, applied.points);
        assert.deepEqual([out.renamed, [...out.dropped]], [applied.renamed, [...applied.dropped]]);
        const got = placements(out.parts);
        assert.equal(got.size, expectedName.size, `${label}, ${round}: every kept line placed`);
        for (const [value, { name, nodes }] of got) {
          assert.equal(name, expectedName.get(value), `${label}, ${round}: line ${value} renamed as apply() does`);
          assert.deepEqual(nodes.sort(), owners.get(name), `${label}, ${round}: ${name} on carbon's destinations`);
        }
      }
    }
  });
}

test('with no ring every kept line is in part 0, as apply() gives it; a batch the rules leave alone is the batch itself', () => {
  const e = engine();
  const out = e.split(batch, '', undefined, 1);
  assert.deepEqual([...out.parts.keys()], [0]);
  assert.equal(out.parts.get(0)!.data.toString('latin1'), e.apply(batch, '').data.toString('latin1'));
  const untouched = Buffer.from('other.a 1 1\nother.b 2 1\n');
  assert.equal(e.split(untouched, '', undefined, 1).parts.get(0)!.data, untouched);
});
