// The batch pass on Buffers: a batch the rules leave alone is handed on as it came (no copy); the
// verdict cache is bounded and counts its hits; prefixes do not share verdicts; a rewritten name
// carbon could not take in a line is dropped and counted, never forwarded.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decideName, type NameRules } from '../../src/rules/name-rules.js';
import { parseRegexList } from '../../src/rules/parse-regex-list.js';
import { parseRewriteRules } from '../../src/rules/parse-rewrite.js';
import { createRuleEngine } from '../../src/rules/rule-engine.js';
import { RuleFileError } from '../../src/rules/rule-text.js';

function rules(rewrite: string, blacklist = ''): NameRules {
  const r = parseRewriteRules('rewrite.conf', Buffer.from(rewrite));
  return { pre: r.pre, post: r.post, blacklist: parseRegexList('blacklist.conf', Buffer.from(blacklist)), whitelist: [], tagNormalize: false };
}

function engine(r: NameRules, maxNames = 1000) {
  const counted = { hits: 0, misses: 0 };
  return { counted, engine: createRuleEngine(r, { maxNames, counters: { hit: (n) => (counted.hits += n), miss: (n) => (counted.misses += n) } }) };
}

test('a batch no rule changes is the same buffer; a changed one keeps values, timestamps and untouched lines byte for byte', () => {
  const { engine: e } = engine(rules('[pre]\n^web\\. = frontend.\n', '^secret\\.\n'));
  const untouched = Buffer.from('db.cpu 1 100\n  db.mem\t2 101\ncache.hits 3.5 102\n');
  const same = e.apply(untouched, '');
  assert.equal(same.data, untouched);
  assert.equal(same.points, 3);
  const mixed = e.apply(Buffer.from('db.cpu 1 100\nweb.req 2 101\nsecret.x 3 102\n\tweb.err  4.25 103\ndb.mem 5 104\n'), '');
  assert.equal(mixed.data.toString(), 'db.cpu 1 100\nfrontend.req 2 101\nfrontend.err  4.25 103\ndb.mem 5 104\n');
  assert.deepEqual([mixed.points, mixed.renamed, [...mixed.dropped]], [4, 2, [['blacklist', 1]]]);
  assert.match(mixed.firstDrop ?? '', /^blacklist: blacklist line 1 \(\^secret\\\.\): "secret\.x 3 102"$/);
});

test('the verdict cache is bounded, counts hits and misses, and keeps verdicts right past its bound', () => {
  const r = rules('[pre]\n(\\d+)$ = n\\1\n');
  const { engine: e, counted } = engine(r, 8);
  const batch = Buffer.from(Array.from({ length: 200 }, (_, i) => `m.${i % 50} ${i} 100\n`).join(''));
  const out = e.apply(batch, '');
  assert.ok(e.cachedNames() <= 8, `${e.cachedNames()} names cached`);
  assert.equal(out.data.toString(), Array.from({ length: 200 }, (_, i) => `m.n${i % 50} ${i} 100\n`).join(''));
  assert.equal(counted.hits + counted.misses, 200);
  // Names seen again while cached are hits: 4 names, 100 lines.
  const { engine: warm, counted: c2 } = engine(r, 8);
  warm.apply(Buffer.from(Array.from({ length: 100 }, (_, i) => `w.${i % 4} 1 100\n`).join('')), '');
  assert.deepEqual(c2, { hits: 96, misses: 4 });
});

test("the key prefix is part of the cached name: [post] sees each key's own prefix", () => {
  const { engine: e } = engine(rules('[post]\n^alice\\. = team-a.\n'));
  const batch = Buffer.from('cpu 1 100\n');
  assert.equal(e.apply(batch, 'alice.').data.toString(), 'team-a.cpu 1 100\n');
  assert.equal(e.apply(batch, 'bob.').data.toString(), 'bob.cpu 1 100\n');
  assert.equal(e.apply(batch, '').data, batch);
});

test('a rewrite to a name carbon cannot take in a line (blank, control byte, empty) is dropped as rewrite_invalid', () => {
  const r = rules('[pre]\n\\. = \\n\n^empty.*$ =\n_ = \\t\n');
  for (const name of ['a.b', 'empty', 'x_y']) assert.equal(decideName(r, name, '').kind, 'drop', name);
  const { engine: e } = engine(r);
  const out = e.apply(Buffer.from('a.b 1 100\nempty 2 100\nok 3 100\n'), '');
  assert.equal(out.data.toString(), 'ok 3 100\n');
  assert.deepEqual([...out.dropped], [['rewrite_invalid', 2]]);
});

test('a line carbon would log and skip refuses the whole file here, naming the line', () => {
  assert.throws(
    () => parseRewriteRules('r.conf', Buffer.from('[pre]\n# fine\na = b\nno equals sign\n')),
    (e: unknown) => e instanceof RuleFileError && /r\.conf:4: not a section heading or rule/.test(e.message) && e.code === 'POLYMUR_ERR_RULE_FILE',
  );
  assert.throws(() => parseRewriteRules('r.conf', Buffer.from('[pre]\n(?<=x)y = z\n')), /r\.conf:2: .*split at its first "="/);
  assert.throws(() => parseRegexList('b.conf', Buffer.from('ok\n\n[unclosed\n')), /b\.conf:3: unterminated character set/);
  assert.throws(() => parseRegexList('b.conf', Buffer.from([0x61, 0xff, 0x0a])), /b\.conf: not valid UTF-8/);
  // What carbon reads as it does: \r line ends, an indented # as a pattern, a section heard twice.
  assert.deepEqual(
    parseRegexList('b.conf', Buffer.from('#c\r  #p\r\nq\r')).map((e) => [e.pattern, e.line]),
    [
      ['#p', 2],
      ['q', 3],
    ],
  );
  const twice = parseRewriteRules('r.conf', Buffer.from('[pre]\na = b\n[PRE]\nc = d\n'));
  assert.deepEqual(
    twice.pre.map((r) => r.pattern),
    ['c'],
  );
  assert.match(twice.warnings[0] ?? '', /\[pre\] again/);
});
