// What the rule files do to one metric name, in carbon's order: the blacklist and whitelist on the
// name as received (carbon's MetricReceiver), then [pre], the gateway's key prefix, then [post]
// (carbon's pipeline: rewrite:pre, aggregation, rewrite:post). With -tag-normalize the name is
// put in carbon's canonical tag order first, so the rules see one form of each series, and again
// last, as carbon-relay's TAG_RELAY_NORMALIZED does before hashing, in case a rule moved tags.
// Per distinct name, never per data point: rule-engine.ts caches the verdicts.
import { checkLine } from '../protocol/lines.js';
import type { RewriteRule } from './parse-rewrite.js';
import type { RegexListEntry } from './parse-regex-list.js';
import { pythonSearch, pythonSub } from './python-regex.js';
import { normalizeTaggedName, TagSyntaxError } from './tag-normalize.js';

/** Why the rules dropped a data point: the `reason` label of polymur_points_dropped_total. */
export const RULE_DROP_REASONS = ['blacklist', 'not_whitelisted', 'rewrite_invalid'] as const;
export type RuleDropReason = (typeof RULE_DROP_REASONS)[number];

export interface NameRules {
  readonly pre: readonly RewriteRule[];
  readonly post: readonly RewriteRule[];
  /** Empty: no blacklist. */
  readonly blacklist: readonly RegexListEntry[];
  /** Empty: every name passes (carbon's `if WhiteList and ...`: an empty whitelist filters nothing). */
  readonly whitelist: readonly RegexListEntry[];
  readonly tagNormalize: boolean;
}

export type NameVerdict =
  { readonly kind: 'keep' } | { readonly kind: 'rename'; readonly name: string } | { readonly kind: 'drop'; readonly reason: RuleDropReason; readonly why: string };

const KEEP: NameVerdict = { kind: 'keep' };

/** Whether any rule can change or drop a name: without, the batch is not even looked at. */
export function hasRules(rules: NameRules): boolean {
  return rules.tagNormalize || rules.pre.length + rules.post.length + rules.blacklist.length + rules.whitelist.length > 0;
}

function normalized(name: string): string {
  try {
    return normalizeTaggedName(name);
  } catch (err) {
    // carbon-relay logs and goes on with the name as it came: so does this.
    if (err instanceof TagSyntaxError) return name;
    throw err;
  }
}

function rewrite(rules: readonly RewriteRule[], name: string): string {
  for (const rule of rules) name = pythonSub(rule.regex, rule.template, name);
  return name;
}

/** The line `name 0 0` is one carbon takes: no blank, control byte or `/` in the name, valid UTF-8. */
function validName(name: string): boolean {
  if (name === '') return false;
  const line = Buffer.from(`${name} 0 0`);
  return checkLine(line, 0, line.length) === null;
}

/** The verdict on `name` (as received, without the gateway's prefix; `prefix` is that prefix or ''). */
export function decideName(rules: NameRules, received: string, prefix: string): NameVerdict {
  let name = rules.tagNormalize ? normalized(received) : received;
  const black = rules.blacklist.find((e) => pythonSearch(e.regex, name));
  if (black !== undefined) return { kind: 'drop', reason: 'blacklist', why: `blacklist line ${black.line} (${black.pattern})` };
  if (rules.whitelist.length > 0 && !rules.whitelist.some((e) => pythonSearch(e.regex, name))) {
    return { kind: 'drop', reason: 'not_whitelisted', why: 'no whitelist pattern matches' };
  }
  name = prefix + rewrite(rules.pre, name);
  name = rewrite(rules.post, name);
  if (rules.tagNormalize) name = normalized(name);
  if (name === prefix + received) return KEEP;
  if (!validName(name)) return { kind: 'drop', reason: 'rewrite_invalid', why: `rewritten to ${JSON.stringify(name)}, not a name carbon takes in a line` };
  return { kind: 'rename', name };
}
