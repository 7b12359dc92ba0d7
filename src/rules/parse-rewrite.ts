// carbon's rewrite-rules.conf, read as carbon's RewriteRuleManager.read_rules reads it
// (carbon/rewrite.py): stripped lines, `#` comments, `[section]` headings (lower-cased; a heading
// seen again starts its section afresh), `pattern = replacement` split at the first `=`. Only
// [pre] and [post] are applied. Where carbon logs a bad line and goes on without it, the whole file
// is refused here with the line's number: a rule silently missing would change where data goes.
import { PythonRegexError, translatePattern, translateTemplate, type TemplatePart, type TranslatedRegex } from './python-regex.js';
import { pythonLines, pythonStrip, RuleFileError } from './rule-text.js';

export interface RewriteRule {
  readonly pattern: string;
  readonly replacement: string;
  readonly regex: TranslatedRegex;
  readonly template: readonly TemplatePart[];
  /** Where it is written, for the log. */
  readonly line: number;
}

export interface RewriteRules {
  readonly pre: readonly RewriteRule[];
  readonly post: readonly RewriteRule[];
  /** What carbon would also ignore (rules outside [pre]/[post], a section started again), for the log. */
  readonly warnings: readonly string[];
}

export function parseRewriteRules(path: string, bytes: Buffer): RewriteRules {
  const sections = new Map<string | null, RewriteRule[]>();
  const warnings: string[] = [];
  let section: string | null = null;
  for (const { text, number } of pythonLines(path, bytes)) {
    const line = pythonStrip(text);
    if (line.startsWith('#') || line === '') continue;
    if (line.startsWith('[') && line.endsWith(']')) {
      section = line.slice(1, -1).toLowerCase();
      if (sections.get(section)?.length) warnings.push(`${path}:${number}: [${section}] again: carbon drops the rules of the earlier [${section}]`);
      sections.set(section, []);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq === -1) throw new RuleFileError(`${path}:${number}: not a section heading or rule: '${line}'`);
    const pattern = pythonStrip(line.slice(0, eq));
    const replacement = pythonStrip(line.slice(eq + 1));
    let rule: RewriteRule;
    try {
      const regex = translatePattern(pattern);
      rule = { pattern, replacement, regex, template: translateTemplate(replacement, regex), line: number };
    } catch (err) {
      // carbon cuts a rule at its first `=`: one meant inside the pattern ends up in the replacement.
      const hint = replacement.includes('=') ? ' (a rule is split at its first "=": write one inside a pattern as \\x3d)' : '';
      if (err instanceof PythonRegexError) throw new RuleFileError(`${path}:${number}: ${err.message}${hint}`);
      throw err;
    }
    if (section !== 'pre' && section !== 'post') {
      warnings.push(`${path}:${number}: rule ${section === null ? 'before any section' : `in [${section}]`} is not applied (carbon applies [pre] and [post])`);
    }
    let rules = sections.get(section);
    if (rules === undefined) sections.set(section, (rules = []));
    rules.push(rule);
  }
  return { pre: sections.get('pre') ?? [], post: sections.get('post') ?? [], warnings };
}
