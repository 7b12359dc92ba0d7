// How carbon reads its rule files as text: `for line in open(path)` (UTF-8, universal newlines:
// \n, \r\n and \r all end a line) and str.strip() (Python's whitespace, wider than String#trim's).
import { PolymurError } from '../errors.js';

/** A rule file that cannot be used; the message names the file and line for the operator. */
export class RuleFileError extends PolymurError {
  readonly code = 'POLYMUR_ERR_RULE_FILE';
}

/** The characters str.isspace() is true for. */
const PYTHON_SPACE = '\\t\\n\\v\\f\\r\\x1C-\\x1F \\x85\\xA0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000';
const LEADING = new RegExp(`^[${PYTHON_SPACE}]+`, 'u');
const TRAILING = new RegExp(`[${PYTHON_SPACE}]+$`, 'u');

/** Python's str.strip(). */
export function pythonStrip(s: string): string {
  return s.replace(LEADING, '').replace(TRAILING, '');
}

/** The file's lines as Python's text mode gives them, each with its line ending (as `\n`) and number. */
export function pythonLines(path: string, bytes: Buffer): Array<{ readonly text: string; readonly number: number }> {
  let text: string;
  try {
    // A byte-order mark stays a character, as Python's utf-8 codec keeps it.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new RuleFileError(`${path}: not valid UTF-8`);
  }
  const lines = text.split(/(?<=\r\n|\r(?!\n)|\n)/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((line, i) => ({ text: line.replace(/\r\n?$/, '\n'), number: i + 1 }));
}
