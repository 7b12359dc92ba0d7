// The same rule files through carbon's own classes (RewriteRuleManager, RegexList, TaggedSeries
// from Debian's graphite-carbon, run by /usr/bin/python3) and through ours, name by name: every
// verdict must agree. Names mix matching and not, tagged and not, ASCII and not.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { decideName } from '../../src/rules/name-rules.js';
import { pythonSearch, pythonSub, translatePattern, translateTemplate } from '../../src/rules/python-regex.js';
import { readRuleFiles, type RuleFilePaths } from '../../src/rules/rule-files.js';
import { normalizeTaggedName } from '../../src/rules/tag-normalize.js';

const dir = mkdtempSync(join(tmpdir(), 'polymur-rules-compare-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** 15 rewrite rules (and one in a section carbon ignores) in carbon's format, a comment and an ignored section among them. */
const REWRITE = `# carbon rewrite-rules.conf
[pre]
^collectd\\.([a-z0-9-]+)\\.cpu-(\\d+)\\. = servers.\\1.cpu.\\2.
(?P<host>host-\\d+)\\.load = \\g<host>.sysload
\\.\\. = .
_ = -
(?i)^APP\\. = app.
(?<!^)(?<![^z])x* = -
\\bfoo\\b = bar
[^\\w.;~\\x3d-] = _
\\d{3,} = N
(?x) ^ stats \\. (timers | counters) \\. = statsd.\\1.
(a|b)\\1 = double
;env=prod = ;env=production
\\.$ =
[ignored]
^servers = never
[POST]
^(\\w+)\\.servers\\. = \\1.srv.
(?<![a-z])q{2,}? = Q
`;

const BLACKLIST = `# carbon blacklist.conf
^collectd\\.host-00[0-4]\\.
\\.debug\\.
(?i)TEST
  #notacomment
^bad
\\d{5}
`;

const WHITELIST = `^collectd\\.
^stats\\.
(?i)^app
;
^servers
^zz
^.{0,3}$
#
`;

/** carbon's verdict on each name, with each name's key prefix ('' for none) between [pre] and [post]. */
const CARBON = String.raw`
import json, sys
from carbon.rewrite import RewriteRuleManager, PRE, POST
from carbon.regexlist import RegexList
from carbon.util import TaggedSeries
args = json.load(sys.stdin)
RewriteRuleManager.rules_file = args['rewrite']
RewriteRuleManager.read_rules()
black = RegexList(); black.list_file = args['blacklist']; black.read_list()
white = RegexList(); white.list_file = args['whitelist']; white.read_list()
def normalized(name):
    try:
        return TaggedSeries.parse(name).path
    except Exception:
        return name
def apply(ruleset, name):
    for rule in RewriteRuleManager.rules(ruleset):
        name = rule.apply(name)
    return name
out = []
for name, prefix in args['names']:
    n = normalized(name)
    if black and n in black:
        out.append(['drop', 'blacklist'])
    elif white and n not in white:
        out.append(['drop', 'not_whitelisted'])
    else:
        out.append(['name', normalized(apply(POST, prefix + apply(PRE, n)))])
tags = [normalized(name) for name, prefix in args['names']]
print(json.dumps({'verdicts': out, 'tags': tags}))
`;

function runCarbon(input: unknown): Promise<{ verdicts: Array<[string, string]>; tags: string[] }> {
  return new Promise((resolve, reject) => {
    const proc = spawn('/usr/bin/python3', ['-c', CARBON], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, PYTHONIOENCODING: 'utf-8' } });
    let out = '';
    let err = '';
    proc.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    proc.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    proc.on('error', reject);
    proc.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`carbon's python exited ${code}: ${err}`))));
    proc.stdin.end(JSON.stringify(input));
  });
}

/** A seeded generator, so a failure names the same names each run. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function makeNames(count: number): string[] {
  const rnd = random(15);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const words = [
    'cpu',
    'load',
    'foo',
    'foobar',
    'debug',
    'Test',
    'app',
    'APP',
    'zz',
    'zzxx',
    'xx',
    'qq',
    'qqq',
    'aa',
    'ab',
    'bb',
    'stats',
    'timers',
    'counters',
    'café',
    'ıi',
    'İstanbul',
    'Kelvin\u212a',
    'ſs',
    'x_y',
    'a..b',
    '١٢٣',
    'servers',
    'host-001',
    'host-12345',
    '~tilde',
    'x#notacomment',
    '',
  ];
  const tagNames = ['env', 'dc', 'name', 'a', 'ab', 'b', 'é', 'Z', 'z'];
  const tagValues = ['prod', 'dev', 'x', '1', '~bad', '', 'a=b', 'é'];
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const kind = i % 6;
    let name: string;
    if (kind === 0) name = `collectd.host-${String(i % 13).padStart(3, '0')}.cpu-${i % 4}.cpu-${pick(['idle', 'user', 'debug'])}`;
    else if (kind === 1) name = `stats.${pick(['timers', 'counters', 'gauges'])}.${pick(words)}.${pick(words)}`;
    else if (kind === 2) name = Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => pick(words)).join(pick(['.', '.', '_', '..']));
    else if (kind === 3 || kind === 4) {
      const base = pick(['app.requests', 'APP.latency', 'servers.web', 'zz.x', '~svc', 'disk.used', 'collectd.host-003.load']);
      const tags = Array.from({ length: Math.floor(rnd() * 4) }, () => `${pick(tagNames)}=${pick(tagValues)}`);
      name = [base, ...tags].join(';');
    } else {
      const base = pick(['http_requests', 'app.up', 'bad{x']);
      name = `${base}{${pick(['job', 'a'])}="${pick(['api', 'x\\"y', 'z'])}",${pick(['b', 'c'])}="${pick(['1', '2'])}"}`;
    }
    if (name !== '' && !/[\s]/.test(name)) names.push(name);
  }
  return names;
}

test("rewrite rules, blacklist and whitelist: our verdict equals carbon's on every name", async () => {
  const paths: RuleFilePaths = {
    rewriteRules: join(dir, 'rewrite-rules.conf'),
    blacklist: join(dir, 'blacklist.conf'),
    whitelist: join(dir, 'whitelist.conf'),
    tagNormalize: true,
  };
  writeFileSync(paths.rewriteRules, REWRITE);
  writeFileSync(paths.blacklist, BLACKLIST);
  writeFileSync(paths.whitelist, WHITELIST);
  const { rules } = readRuleFiles(paths);
  assert.deepEqual([rules.pre.length, rules.post.length, rules.blacklist.length, rules.whitelist.length], [13, 2, 6, 7]);
  const names = makeNames(1500);
  const cases = names.map((name, i): [string, string] => [name, i % 3 === 0 ? 'tenant.' : '']);
  const carbon = await runCarbon({ rewrite: paths.rewriteRules, blacklist: paths.blacklist, whitelist: paths.whitelist, names: cases });
  const wrong: string[] = [];
  const seen = { blacklist: 0, not_whitelisted: 0, renamed: 0, kept: 0 };
  cases.forEach(([name, prefix], i) => {
    const ours = decideName(rules, name, prefix);
    const [kind, value] = carbon.verdicts[i]!;
    const oursText = ours.kind === 'drop' ? `drop ${ours.reason}` : `name ${ours.kind === 'rename' ? ours.name : prefix + name}`;
    if (ours.kind === 'drop' && ours.reason !== 'rewrite_invalid') seen[ours.reason]++;
    else if (ours.kind === 'rename') seen.renamed++;
    else seen.kept++;
    // A name carbon would produce that cannot travel in a line is dropped (and counted) by us.
    if (ours.kind === 'drop' && ours.reason === 'rewrite_invalid' && kind === 'name') return;
    if (oursText !== `${kind} ${value}`) wrong.push(`${JSON.stringify(prefix + name)}: carbon ${kind} ${JSON.stringify(value)}, ours ${JSON.stringify(oursText)}`);
  });
  assert.deepEqual(wrong.slice(0, 20), [], `${wrong.length} of ${cases.length} names differ`);
  // The names exercise every branch.
  for (const [what, n] of Object.entries(seen)) assert.ok(n > 50, `only ${n} names ${what}`);
  // And every rule and pattern on its own acts on some names.
  for (const rule of [...rules.pre, ...rules.post]) {
    assert.ok(
      names.some((n) => pythonSub(rule.regex, rule.template, n) !== n),
      `rule ${rule.pattern} changes no name`,
    );
  }
  for (const entry of [...rules.blacklist, ...rules.whitelist])
    assert.ok(
      names.some((n) => pythonSearch(entry.regex, n)),
      `${entry.pattern} matches no name`,
    );
});

test("-tag-normalize: our canonical form equals carbon's TaggedSeries.parse(name).path on every name", async () => {
  const names = makeNames(1500);
  const carbon = await runCarbon({ rewrite: join(dir, 'none'), blacklist: join(dir, 'none'), whitelist: join(dir, 'none'), names: names.map((n) => [n, '']) });
  let changed = 0;
  let refused = 0;
  const wrong: string[] = [];
  names.forEach((name, i) => {
    let ours: string;
    try {
      ours = normalizeTaggedName(name);
    } catch {
      refused++;
      ours = name;
    }
    if (ours !== name) changed++;
    if (ours !== carbon.tags[i]) wrong.push(`${JSON.stringify(name)}: carbon ${JSON.stringify(carbon.tags[i])}, ours ${JSON.stringify(ours)}`);
  });
  assert.deepEqual(wrong.slice(0, 20), [], `${wrong.length} of ${names.length} names differ`);
  assert.ok(changed > 200 && refused > 50, `changed ${changed}, refused ${refused}`);
});

/** Python's own re.sub and re.search on each (pattern, replacement) and name, or the error re.compile raises. */
const PYTHON_RE = String.raw`
import json, re, sys
args = json.load(sys.stdin)
out = []
for pattern, repl in args['rules']:
    try:
        r = re.compile(pattern)
        out.append({'sub': [r.sub(repl, n) for n in args['names']], 'search': [bool(r.search(n)) for n in args['names']]})
    except Exception as e:
        out.append({'error': str(e)})
print(json.dumps(out))
`;

/** Rules Python takes that we refuse, for want of a faithful JavaScript form (the message says so). */
const REFUSED: Array<[string, string]> = [
  ...['(?i:ab)', '(?>a+)b', 'a*+', '(a)?\\1', '(?:(a)|b)+\\1', '(a)?(?(1)b|c)', '(?=a)*', '(?i)é'].map((p): [string, string] => [p, 'x']),
  // JavaScript clears the group on the pass that matched b; Python keeps the a.
  ['(?:(a)|b)+', '\\1'],
];
const refused = new Set(REFUSED.map(([p, r]) => `${p} ${r}`));

test('Python re semantics: sub and search agree with Python on tricky patterns; what Python refuses we refuse', async () => {
  const rules: Array<[string, string]> = [
    ['(|a)', '-'],
    ['x*', '-'],
    ['a*?', '<\\g<0>>'],
    ['$', '!'],
    ['^', '^'],
    ['\\b', '|'],
    ['\\B', '|'],
    ['\\Z', 'z'],
    ['\\Aa', 'A'],
    ['.', '_'],
    ['[^a-c]', '#'],
    ['[\\w-]+', 'W'],
    ['[\\W\\d]', '~'],
    ['[^\\W\\d]', '~'],
    ['\\s|\\S', 's'],
    ['(?s).', 'd'],
    ['(?m)^a', 'M'],
    ['(?x) a  b # comment', 'AB'],
    ['a{,2}', 'q'],
    ['a{2}', 'Q'],
    ['a{x}', 'L'],
    ['{', 'brace'],
    ['a{}', 'E'],
    ['[]a]', 'b'],
    ['[a-]', 'D'],
    ['(?P<x>a)(?P=x)', '\\g<x>2'],
    ['(a)(b)?', '\\2\\1'],
    ['(a)|(b)', '[\\1\\2]'],
    ['(a)', '\\\\1\\n'],
    ['(a)', '\\0'],
    ['(a)', '\\101'],
    ['(?i)k', 'K'],
    ['(?i)I', 'i'],
    ['(?i)s', 'S'],
    ['(?i)[a-z]+', 'w'],
    ['(?i)[^a-z]', '.'],
    ['(?a)\\w+', 'A'],
    ['\\d+', 'D'],
    ['(?<=a)b', 'B'],
    ['(?<!a)b', 'B'],
    ['(?<=ab|cd)x', 'X'],
    ['\\x41', 'hex'],
    ['\\u00e9', 'e'],
    ['\\.', '\\.'],
    ['\\-', 'minus'],
    ['(?:(a)|b)+', 'n'],
    ['((a)b)+', '\\2'],
    ['(a+)+$', 'R'],
    ['(?#comment)a', 'C'],
    // Python refuses these; so must we.
    ['(?<=a+)b', 'x'],
    ['a**', 'x'],
    ['*a', 'x'],
    ['(a', 'x'],
    ['a)', 'x'],
    ['\\q', 'x'],
    ['[b-a]', 'x'],
    ['(?P<1>a)', 'x'],
    ['a(?i)b', 'x'],
    ['(a)', '\\2'],
    ['(a)', '\\g<y>'],
    ['(a)', '\\q'],
    ['[\\w-a]', 'x'],
    ['\\1(a)', 'x'],
    ['(?<a>x)', 'x'],
    ...REFUSED,
  ];
  const names = ['a', 'aa', 'ab', 'abc', 'ba', 'b', 'xax', 'zzxx', 'x.y_z', 'a-b c', 'ka\u212a', 'Iıİi', 'sſS', 'é1٣', 'a\nb', 'cdx', 'aab', '', 'A{x}', '{}', 'a]b', 'AbC'];
  const python = (await new Promise<string>((resolve, reject) => {
    const proc = spawn('/usr/bin/python3', ['-W', 'ignore', '-c', PYTHON_RE], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, PYTHONIOENCODING: 'utf-8' } });
    let out = '';
    proc.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    proc.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`python exited ${code}`))));
    proc.stdin.end(JSON.stringify({ rules, names }));
  }).then(JSON.parse)) as Array<{ error?: string; sub?: string[]; search?: boolean[] }>;
  const wrong: string[] = [];
  rules.forEach(([pattern, repl], i) => {
    const py = python[i]!;
    let ours: { sub: string[]; search: boolean[] } | { error: string };
    try {
      const regex = translatePattern(pattern);
      const template = translateTemplate(repl, regex);
      ours = { sub: names.map((n) => pythonSub(regex, template, n)), search: names.map((n) => pythonSearch(regex, n)) };
    } catch (err) {
      ours = { error: (err as Error).message };
    }
    if (refused.has(`${pattern} ${repl}`)) {
      if (py.error !== undefined && !/^(look-behind|global flags)/.test(py.error)) wrong.push(`${pattern}: expected Python to take it, it says ${py.error}`);
      if (!('error' in ours)) wrong.push(`${pattern}: expected a refusal`);
      return;
    }
    if (py.error !== undefined) {
      if (!('error' in ours)) wrong.push(`${pattern} / ${repl}: Python refuses (${py.error}), we take it`);
      return;
    }
    if ('error' in ours) return void wrong.push(`${pattern} / ${repl}: Python takes it, we refuse: ${ours.error}`);
    names.forEach((n, k) => {
      if (ours.sub[k] !== py.sub![k])
        wrong.push(`re.sub(${JSON.stringify(pattern)}, ${JSON.stringify(repl)}, ${JSON.stringify(n)}): Python ${JSON.stringify(py.sub![k])}, ours ${JSON.stringify(ours.sub[k])}`);
      if (ours.search[k] !== py.search![k]) wrong.push(`re.search(${JSON.stringify(pattern)}, ${JSON.stringify(n)}): Python ${py.search![k]}, ours ${ours.search[k]}`);
    });
  });
  assert.deepEqual(wrong, []);
});
