// carbon's blacklist.conf / whitelist.conf, read as carbon's RegexList.read_list reads them
// (carbon/regexlist.py): one pattern a line, stripped, blank lines skipped, and a line that begins
// with `#` (before stripping: an indented `#` is a pattern) a comment. A name is in the list when
// one pattern is found anywhere in it (re.search). Where carbon logs a bad pattern and goes on
// without it, the whole file is refused here with the line's number.
import { PythonRegexError, translatePattern, type TranslatedRegex } from './python-regex.js';
import { pythonLines, pythonStrip, RuleFileError } from './rule-text.js';

export interface RegexListEntry {
  readonly pattern: string;
  readonly regex: TranslatedRegex;
  readonly line: number;
}

export function parseRegexList(path: string, bytes: Buffer): RegexListEntry[] {
  const entries: RegexListEntry[] = [];
  for (const { text, number } of pythonLines(path, bytes)) {
    const pattern = pythonStrip(text);
    if (text.startsWith('#') || pattern === '') continue;
    try {
      entries.push({ pattern, regex: translatePattern(pattern), line: number });
    } catch (err) {
      if (err instanceof PythonRegexError) throw new RuleFileError(`${path}:${number}: ${err.message}`);
      throw err;
    }
  }
  return entries;
}
