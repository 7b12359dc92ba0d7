// -rewrite-rules, -blacklist, -whitelist: carbon's files, read at start, again on SIGHUP and when
// one changes on disk (watched through its directory: editors replace a file rather than write
// it). A file that cannot be read or parsed keeps every rule as it was and the log says why, with
// the line; a reload swaps all three files' rules at once, between two batches.
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Stage } from '../lifecycle/stage.js';
import { rateLimitedLog } from '../observe/log.js';
import type { Registry } from '../observe/metrics.js';
import { hasRules, RULE_DROP_REASONS, type NameRules } from './name-rules.js';
import { parseRegexList } from './parse-regex-list.js';
import { parseRewriteRules } from './parse-rewrite.js';
import { createRuleEngine, type RuleCounts, type RuleEngine } from './rule-engine.js';
import { RuleFileError } from './rule-text.js';

export interface RuleFilePaths {
  /** '' where the flag is not given. */
  readonly rewriteRules: string;
  readonly blacklist: string;
  readonly whitelist: string;
  readonly tagNormalize: boolean;
}

export interface LoadedRules {
  readonly rules: NameRules;
  /** What carbon ignores in the files too, said once per load. */
  readonly warnings: readonly string[];
}

function readFile(flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new RuleFileError(`-${flag} ${path}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  }
}

/** Every file read and parsed, or a RuleFileError naming the file and line. */
export function readRuleFiles(paths: RuleFilePaths): LoadedRules {
  const rewrite = paths.rewriteRules === '' ? { pre: [], post: [], warnings: [] } : parseRewriteRules(paths.rewriteRules, readFile('rewrite-rules', paths.rewriteRules));
  return {
    rules: {
      pre: rewrite.pre,
      post: rewrite.post,
      blacklist: paths.blacklist === '' ? [] : parseRegexList(paths.blacklist, readFile('blacklist', paths.blacklist)),
      whitelist: paths.whitelist === '' ? [] : parseRegexList(paths.whitelist, readFile('whitelist', paths.whitelist)),
      tagNormalize: paths.tagNormalize,
    },
    warnings: rewrite.warnings,
  };
}

function summary(r: NameRules): string {
  return `${r.pre.length} [pre] and ${r.post.length} [post] rewrite rules, ${r.blacklist.length} blacklist and ${r.whitelist.length} whitelist patterns${r.tagNormalize ? ', tags normalized' : ''}`;
}

export interface RuleFiles extends Stage {
  /** False when no rule flag is given: callers skip the rules entirely. */
  readonly active: boolean;
  /** The rules now: a batch applies one engine throughout, even when a reload comes in meanwhile. */
  current(): RuleEngine;
  /** Counts an outcome once its batch was taken, and logs (rate-limited) what it dropped. */
  record(outcome: RuleCounts, source: string): void;
  /** Re-reads the files; says what is loaded now, or throws RuleFileError keeping the old rules. */
  reload(): Promise<string>;
}

/** How long a burst of change events settles before the files are read (an editor writes, renames, chmods). */
const WATCH_DEBOUNCE_MS = 200;

export function createRuleFiles(opts: {
  readonly paths: RuleFilePaths;
  readonly initial: LoadedRules;
  /** Distinct names whose verdict is kept. */
  readonly cacheNames: number;
  readonly metrics: Registry;
  readonly log: (m: string) => void;
  /** Watch the files' directories for changes (default true). */
  readonly watch?: boolean;
}): RuleFiles {
  const { paths, metrics, log } = opts;
  const files = [paths.rewriteRules, paths.blacklist, paths.whitelist].filter((p) => p !== '');
  const active = hasRules(opts.initial.rules) || files.length > 0;
  const m = {
    dropped: metrics.counter(
      'polymur_points_dropped_total',
      'Data points dropped, by reason (and destination)',
      RULE_DROP_REASONS.map((reason) => ({ reason })),
    ),
    renamed: metrics.counter('polymur_points_renamed_total', 'Data points whose name the rewrite rules or -tag-normalize changed'),
    hits: metrics.counter('polymur_rule_cache_hits_total', 'Names whose rule verdict was found in the cache'),
    misses: metrics.counter('polymur_rule_cache_misses_total', 'Names the rules were run on (not in the cache)'),
    reloads: metrics.counter('polymur_rule_reloads_total', 'Reloads of the rule files, by result', [{ result: 'ok' }, { result: 'failed' }]),
  };
  let generation = 1;
  let lastOk = 1;
  let current = opts.initial.rules;
  let texts = files.map((p) => readFileSync(p, 'latin1'));
  const build = (rules: NameRules): RuleEngine => createRuleEngine(rules, { maxNames: opts.cacheNames, counters: { hit: (n) => m.hits.inc(n), miss: (n) => m.misses.inc(n) } });
  let engine = build(current);
  metrics.gauge('polymur_rule_cache_names', 'Distinct names whose rule verdict is cached', () => engine.cachedNames());
  metrics.gauge('polymur_rules_generation', 'Rule files loaded so far (1 at start, +1 for each reload that changed them)', () => generation);
  metrics.gauge('polymur_rules_last_reload_success', 'Whether the last reading of the rule files succeeded (1) or kept the old rules (0)', () => lastOk);
  metrics.gauge('polymur_rules_loaded', 'Rules in use, by list', () => [
    [{ list: 'pre' }, current.pre.length],
    [{ list: 'post' }, current.post.length],
    [{ list: 'blacklist' }, current.blacklist.length],
    [{ list: 'whitelist' }, current.whitelist.length],
  ]);
  const dropLog = rateLimitedLog(log);
  for (const w of opts.initial.warnings) log(`Rules: ${w}`);
  if (active) log(`Rules loaded: ${summary(current)}`);

  const reload = async (): Promise<string> => {
    let loaded: LoadedRules;
    let nextTexts: string[];
    try {
      nextTexts = files.map((p) => readFile('rules', p).toString('latin1'));
      loaded = readRuleFiles(paths);
    } catch (err) {
      lastOk = 0;
      m.reloads.inc(1, { result: 'failed' });
      throw err;
    }
    lastOk = 1;
    m.reloads.inc(1, { result: 'ok' });
    if (nextTexts.every((t, i) => t === texts[i])) return `unchanged (${summary(current)})`;
    for (const w of loaded.warnings) log(`Rules: ${w}`);
    texts = nextTexts;
    current = loaded.rules;
    engine = build(current);
    generation++;
    return `now ${summary(current)}`;
  };

  // Changes on disk: every file's directory is watched, events for other names ignored.
  const watchers: FSWatcher[] = [];
  let timer: NodeJS.Timeout | undefined;
  const onChange = (): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      reload().then(
        (said) => log(`Rule files changed on disk: ${said}`),
        (err: unknown) => log(`Rule files changed on disk but FAILED to load, keeping the old rules: ${(err as Error).message}`),
      );
    }, WATCH_DEBOUNCE_MS);
    timer.unref();
  };
  if (opts.watch ?? true) {
    const byDir = new Map<string, Set<string>>();
    for (const p of files) {
      const names = byDir.get(dirname(p)) ?? new Set<string>();
      names.add(basename(p));
      byDir.set(dirname(p), names);
    }
    for (const [dir, names] of byDir) {
      try {
        const w = watch(dir, { persistent: false }, (_event, name) => {
          if (name === null || names.has(name.toString())) onChange();
        });
        w.on('error', (err) => log(`Rules: watching ${dir} failed (${err.message}); SIGHUP still reloads the files`));
        watchers.push(w);
      } catch (err) {
        log(`Rules: cannot watch ${dir} (${(err as Error).message}); SIGHUP still reloads the files`);
      }
    }
  }
  const closed = Promise.resolve();
  const stop = (): void => {
    if (timer) clearTimeout(timer);
    for (const w of watchers.splice(0)) w.close();
  };

  return {
    active,
    current: () => engine,
    record(outcome, source) {
      for (const [reason, n] of outcome.dropped) m.dropped.inc(n, { reason });
      if (outcome.renamed > 0) m.renamed.inc(outcome.renamed);
      if (outcome.firstDrop !== undefined) {
        dropLog(`${source}: ${[...outcome.dropped.values()].reduce((a, b) => a + b, 0)} data points dropped by the rules (first: ${outcome.firstDrop})`);
      }
    },
    reload,
    close() {
      stop();
      return closed;
    },
    destroy: stop,
  };
}
