// Python's `re` (3.11, as carbon runs it) translated to a JavaScript RegExp that matches the same
// text at the same places. carbon compiles each rule with re.compile(pattern) on a str: Unicode
// \w \d \s \b, `.` not matching \n, `$` also before a final \n, unknown escapes of ASCII letters
// refused. The pattern is parsed here (not handed to RegExp as it is): every construct is emitted
// in an explicit form whose JavaScript meaning is Python's, and what has no faithful form is
// refused at load with the reason (scoped case changes, atomic groups, conditionals, a
// backreference or a replacement group whose capture JavaScript would reset between repetitions).
//
// (?i) is kept for patterns written in ASCII: JavaScript's case folding then differs from
// Python's only on four characters of the name (see foldForMatching), mapped before matching.
import { PolymurError } from '../errors.js';

/** A pattern or replacement carbon would refuse, or that cannot be translated faithfully. */
export class PythonRegexError extends PolymurError {
  readonly code = 'POLYMUR_ERR_RULE_REGEX';
}

export interface TranslatedRegex {
  /** The JavaScript form, flags 'gud' (plus 'i' under (?i)): exec() with indices, from lastIndex. */
  readonly regex: RegExp;
  /** The same without g and d (no indices, no lastIndex): for re.search, cheaper. */
  readonly tester: RegExp;
  /** The same, sticky, only ever matching a non-empty text (re.sub's second try after an empty match). */
  readonly nonEmptyAt: (position: number) => RegExp;
  /** Capturing groups, as Python numbers them. */
  readonly groups: number;
  readonly groupNames: ReadonlyMap<string, number>;
  /** Groups a replacement may not name: JavaScript resets their capture on each repetition, Python keeps the last. */
  readonly unstableGroups: ReadonlySet<number>;
  /** (?i): match against foldForMatching(name). */
  readonly ignoreCase: boolean;
  /** The pattern can match the empty text. */
  readonly canMatchEmpty: boolean;
}

interface Flags {
  readonly i: boolean;
  readonly m: boolean;
  readonly s: boolean;
  readonly x: boolean;
  readonly a: boolean;
}

type Node =
  | { readonly t: 'atom'; readonly js: string } // one character: a literal, `.`, a class
  | { readonly t: 'assert'; readonly js: string } // zero width: ^ $ \A \Z \b \B
  | { readonly t: 'cat'; readonly items: Node[] }
  | { readonly t: 'alt'; readonly branches: Node[] }
  | { readonly t: 'group'; readonly index: number | null; readonly body: Node }
  | { readonly t: 'look'; readonly kind: '=' | '!' | '<=' | '<!'; readonly body: Node }
  | { readonly t: 'repeat'; readonly min: number; readonly max: number; readonly lazy: boolean; readonly body: Node }
  | { readonly t: 'backref'; readonly index: number };

const ASCII_LETTERS = /^[A-Za-z]$/;
const DIGITS = /^[0-9]$/;
const OCT = /^[0-7]$/;
const HEX = /^[0-9A-Fa-f]$/;
/** Python's verbose-mode whitespace. */
const VERBOSE_SPACE = new Set([' ', '\t', '\n', '\r', '\v', '\f']);

// Python's classes for str patterns, as the inside of a JavaScript [...] (u flag).
const WORD_UNICODE = '\\p{L}\\p{N}_';
const DIGIT_UNICODE = '\\p{Nd}';
/** str.isspace(): ASCII whitespace, the information separators \x1c-\x1f, and Unicode's spaces. */
const SPACE_UNICODE = '\\t\\n\\v\\f\\r\\x1C-\\x1F \\x85\\xA0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000';
const WORD_ASCII = 'A-Za-z0-9_';
const DIGIT_ASCII = '0-9';
const SPACE_ASCII = '\\t\\n\\v\\f\\r ';

/** A literal code point in JavaScript source, inside or outside a class. */
function literal(cp: number): string {
  const c = String.fromCodePoint(cp);
  return /^[A-Za-z0-9_]$/.test(c) ? c : `\\u{${cp.toString(16)}}`;
}

class Parser {
  private pos = 0;
  private groupCount = 0;
  private readonly open = new Set<number>();
  readonly names = new Map<string, number>();
  private flags: Flags;
  readonly globalIgnoreCase: boolean;
  private lookbehindDepth = 0;
  private readonly chars: string[];

  constructor(private readonly source: string) {
    this.chars = [...source];
    this.flags = this.globalFlags();
    this.globalIgnoreCase = this.flags.i;
    if (this.flags.i && !/^[\x00-\x7f]*$/.test(source)) {
      this.fail('(?i) is accepted for patterns written in ASCII only: Python and JavaScript fold other characters differently');
    }
    if (this.flags.i && this.flags.a) this.fail('(?a) with (?i) is not supported: JavaScript would fold non-ASCII characters too');
  }

  get groups(): number {
    return this.groupCount;
  }

  fail(why: string): never {
    throw new PythonRegexError(`${why} (at position ${this.pos} of ${JSON.stringify(this.source)})`);
  }

  private peek(offset = 0): string | undefined {
    return this.chars[this.pos + offset];
  }

  private next(): string {
    const c = this.chars[this.pos];
    if (c === undefined) this.fail('unexpected end of pattern');
    this.pos++;
    return c;
  }

  private eat(c: string): boolean {
    if (this.chars[this.pos] !== c) return false;
    this.pos++;
    return true;
  }

  /** The global flags groups at the start, (?aimsux) (Python 3.11 refuses them anywhere else). */
  private globalFlags(): Flags {
    let flags: Flags = { i: false, m: false, s: false, x: false, a: false };
    for (;;) {
      if (this.peek() !== '(' || this.peek(1) !== '?') return flags;
      let k = 2;
      let letters = '';
      while (this.peek(k) !== undefined && /^[aiLmsux]$/.test(this.peek(k)!)) letters += this.peek(k++);
      if (letters === '' || this.peek(k) !== ')') return flags;
      this.pos += k + 1;
      flags = applyFlags(flags, letters, '', this);
    }
  }

  parse(): Node {
    const node = this.alternation();
    if (this.pos < this.chars.length) this.fail(this.peek() === ')' ? 'unbalanced parenthesis' : 'unexpected character');
    return node;
  }

  private skipVerbose(): void {
    if (!this.flags.x) return;
    for (;;) {
      const c = this.peek();
      if (c !== undefined && VERBOSE_SPACE.has(c)) this.pos++;
      else if (c === '#') {
        while (this.peek() !== undefined && this.peek() !== '\n') this.pos++;
      } else return;
    }
  }

  private alternation(): Node {
    const branches = [this.sequence()];
    while (this.eat('|')) branches.push(this.sequence());
    return branches.length === 1 ? branches[0]! : { t: 'alt', branches };
  }

  private sequence(): Node {
    const items: Node[] = [];
    for (;;) {
      this.skipVerbose();
      const c = this.peek();
      if (c === undefined || c === '|' || c === ')') break;
      if (c === '(' && this.peek(1) === '?' && /^[aiLmsux]$/.test(this.peek(2) ?? '') && this.isGlobalFlagGroup()) {
        this.fail('global flags not at the start of the expression');
      }
      const item = this.item();
      if (item === null) continue;
      items.push(this.quantified(item));
    }
    return items.length === 1 ? items[0]! : { t: 'cat', items };
  }

  private isGlobalFlagGroup(): boolean {
    let k = 2;
    while (/^[aiLmsux]$/.test(this.peek(k) ?? '')) k++;
    return this.peek(k) === ')';
  }

  private quantified(item: Node): Node {
    this.skipVerbose();
    const q = this.quantifier();
    if (q === null) return item;
    if (item.t === 'assert') this.fail('nothing to repeat');
    if (item.t === 'look') this.fail('a repeated lookaround has no JavaScript form');
    if (this.eat('+')) this.fail('possessive quantifiers have no JavaScript form');
    const lazy = this.eat('?');
    this.skipVerbose();
    if (this.quantifierAhead(0)) this.fail('multiple repeat');
    return { t: 'repeat', min: q.min, max: q.max, lazy, body: item };
  }

  /** *, +, ?, {m}, {m,}, {,n}, {m,n}; a `{` that is none of these is a literal (Python's reading). */
  private quantifier(): { min: number; max: number } | null {
    const c = this.peek();
    if (c === '*') return (this.pos++, { min: 0, max: Infinity });
    if (c === '+') return (this.pos++, { min: 1, max: Infinity });
    if (c === '?') return (this.pos++, { min: 0, max: 1 });
    if (c !== '{' || this.peek(1) === '}') return null;
    const start = this.pos;
    this.pos++;
    let lo = '';
    let hi = '';
    while (DIGITS.test(this.peek() ?? '')) lo += this.next();
    if (this.eat(',')) {
      while (DIGITS.test(this.peek() ?? '')) hi += this.next();
    } else hi = lo;
    if (!this.eat('}')) {
      this.pos = start;
      return null;
    }
    const min = lo === '' ? 0 : Number(lo);
    const max = hi === '' ? Infinity : Number(hi);
    if (max < min) this.fail('min repeat greater than max repeat');
    if (min >= 2 ** 32 - 1 || (max !== Infinity && max >= 2 ** 32 - 1)) this.fail('the repetition number is too large');
    return { min, max };
  }

  /** One item of a sequence; null for what matches nothing and takes no quantifier ((?#...)). */
  private item(): Node | null {
    const c = this.next();
    switch (c) {
      case '.':
        return { t: 'atom', js: this.flags.s ? '[\\s\\S]' : '[^\\n]' };
      case '^':
        return { t: 'assert', js: this.flags.m ? '(?:^|(?<=\\n))' : '^' };
      case '$':
        return { t: 'assert', js: this.flags.m ? '(?=\\n|$)' : '(?:$|(?=\\n$))' };
      case '[':
        return { t: 'atom', js: this.charClass() };
      case '(':
        return this.group();
      case '\\':
        return this.escape();
      case '*':
      case '+':
      case '?':
        this.pos--;
        return this.fail('nothing to repeat');
      case '{':
        // Python: a `{` that does not open a quantifier is literal, and so is one after nothing.
        if (this.quantifierAhead(-1)) this.fail('nothing to repeat');
        return this.literalAtom(c.codePointAt(0)!);
      default:
        return this.literalAtom(c.codePointAt(0)!);
    }
  }

  /** A quantifier starts at pos + offset. */
  private quantifierAhead(offset: number): boolean {
    const save = this.pos;
    this.pos += offset;
    const q = this.quantifier();
    this.pos = save;
    return q !== null;
  }

  private literalAtom(cp: number): Node {
    return { t: 'atom', js: literal(cp) };
  }

  private group(): Node | null {
    if (!this.eat('?')) return this.capture(null);
    const c = this.next();
    if (c === ':') return this.groupBody(null);
    if (c === 'P') {
      if (this.eat('<')) return this.capture(this.groupName('>'));
      if (this.eat('=')) {
        const name = this.groupName(')');
        const index = this.names.get(name);
        if (index === undefined) this.fail(`unknown group name '${name}'`);
        return this.backref(index);
      }
      return this.fail('unknown extension ?P');
    }
    if (c === '=' || c === '!') return this.look(c);
    if (c === '<') {
      const k = this.next();
      if (k === '=' || k === '!') return this.look(k === '=' ? '<=' : '<!');
      return this.fail(`unknown extension ?<${k}`);
    }
    if (c === '#') {
      while (this.peek() !== undefined && this.peek() !== ')') this.pos++;
      if (!this.eat(')')) this.fail('missing ), unterminated comment');
      return null;
    }
    if (c === '>') return this.fail('atomic groups (?>...) have no JavaScript form');
    if (c === '(') return this.fail('conditional groups (?(id)yes|no) have no JavaScript form');
    if (/^[aiLmsux-]$/.test(c)) {
      this.pos--;
      let on = '';
      let off = '';
      while (/^[aiLmsux]$/.test(this.peek() ?? '')) on += this.next();
      if (this.eat('-')) while (/^[imsx]$/.test(this.peek() ?? '')) off += this.next();
      if (!this.eat(':')) this.fail('missing :');
      const outer = this.flags;
      const inner = applyFlags(outer, on, off, this);
      if (inner.i !== this.globalIgnoreCase) this.fail('a scoped change of case sensitivity has no JavaScript form');
      this.flags = inner;
      const body = this.groupBody(null);
      this.flags = outer;
      return body;
    }
    return this.fail(`unknown extension ?${c}`);
  }

  private groupName(end: string): string {
    let name = '';
    while (this.peek() !== undefined && this.peek() !== end) name += this.next();
    if (!this.eat(end)) this.fail('missing ' + end + ', unterminated name');
    if (!/^[\p{ID_Start}_][\p{ID_Continue}]*$/u.test(name)) this.fail(`bad character in group name '${name}'`);
    return name;
  }

  private capture(name: string | null): Node {
    const index = ++this.groupCount;
    if (name !== null) {
      if (this.names.has(name)) this.fail(`redefinition of group name '${name}'`);
      this.names.set(name, index);
    }
    this.open.add(index);
    const node = this.groupBody(index);
    this.open.delete(index);
    return node;
  }

  private groupBody(index: number | null): Node {
    const body = this.alternation();
    if (!this.eat(')')) this.fail('missing ), unterminated subpattern');
    return { t: 'group', index, body };
  }

  private look(kind: '=' | '!' | '<=' | '<!'): Node {
    const behind = kind === '<=' || kind === '<!';
    if (behind) this.lookbehindDepth++;
    const body = this.alternation();
    if (behind) this.lookbehindDepth--;
    if (!this.eat(')')) this.fail('missing ), unterminated subpattern');
    if (behind) {
      const [lo, hi] = width(body);
      if (lo !== hi) this.fail('look-behind requires fixed-width pattern');
    }
    return { t: 'look', kind, body };
  }

  private backref(index: number): Node {
    if (this.open.has(index)) this.fail('cannot refer to an open group');
    if (index > this.groupCount) this.fail(`invalid group reference ${index}`);
    if (this.lookbehindDepth > 0) this.fail('a backreference inside a look-behind has no faithful JavaScript form');
    return { t: 'backref', index };
  }

  private escape(): Node {
    const c = this.next();
    switch (c) {
      case 'A':
        return { t: 'assert', js: '^' };
      case 'Z':
        return { t: 'assert', js: '$' };
      case 'b':
        return { t: 'assert', js: this.boundary(true) };
      case 'B':
        return { t: 'assert', js: this.boundary(false) };
      case 'd':
      case 'w':
      case 's':
        return { t: 'atom', js: `[${this.classEscape(c)}]` };
      case 'D':
      case 'W':
      case 'S':
        return { t: 'atom', js: `[^${this.classEscape(c.toLowerCase())}]` };
    }
    if (c === '0') return this.literalAtom(this.octal(c));
    if (DIGITS.test(c)) {
      let digits = c;
      if (DIGITS.test(this.peek() ?? '')) {
        if (OCT.test(c) && OCT.test(this.peek()!) && OCT.test(this.peek(1) ?? '')) {
          digits += this.next() + this.next();
          const v = parseInt(digits, 8);
          if (v > 0o377) this.fail(`octal escape value \\${digits} outside of range 0-0o377`);
          return this.literalAtom(v);
        }
        digits += this.next();
      }
      return this.backref(Number(digits));
    }
    const cp = this.commonEscape(c);
    return this.literalAtom(cp);
  }

  /** \b (or \B) over Python's word characters; Python 3.11's \B never matches in an empty text. */
  private boundary(at: boolean): string {
    const w = `[${this.flags.a ? WORD_ASCII : WORD_UNICODE}]`;
    return at ? `(?:(?<=${w})(?!${w})|(?<!${w})(?=${w}))` : `(?:(?<=[\\s\\S])|(?=[\\s\\S]))(?:(?<=${w})(?=${w})|(?<!${w})(?!${w}))`;
  }

  private classEscape(c: string): string {
    if (c === 'd') return this.flags.a ? DIGIT_ASCII : DIGIT_UNICODE;
    if (c === 'w') return this.flags.a ? WORD_ASCII : WORD_UNICODE;
    return this.flags.a ? SPACE_ASCII : SPACE_UNICODE;
  }

  /** \0, \0o, \0oo: an octal character. */
  private octal(first: string): number {
    let digits = first;
    while (digits.length < 3 && OCT.test(this.peek() ?? '')) digits += this.next();
    return parseInt(digits, 8);
  }

  /** The escapes a pattern and a class share: \a \f \n \r \t \v \x \u \U, and escaped punctuation. */
  private commonEscape(c: string): number {
    switch (c) {
      case 'a':
        return 7;
      case 'f':
        return 12;
      case 'n':
        return 10;
      case 'r':
        return 13;
      case 't':
        return 9;
      case 'v':
        return 11;
      case 'x':
        return this.hex(2, c);
      case 'u':
        return this.hex(4, c);
      case 'U': {
        const v = this.hex(8, c);
        if (v > 0x10ffff) this.fail(`bad escape \\U`);
        return v;
      }
      case 'N':
        return this.fail('\\N{...} named characters are not supported');
    }
    if (ASCII_LETTERS.test(c)) this.fail(`bad escape \\${c}`);
    return c.codePointAt(0)!;
  }

  private hex(n: number, c: string): number {
    let digits = '';
    for (let k = 0; k < n; k++) {
      const d = this.peek();
      if (d === undefined || !HEX.test(d)) this.fail(`incomplete escape \\${c}${digits}`);
      digits += this.next();
    }
    return parseInt(digits, 16);
  }

  /** After `[`: Python's class, as a JavaScript atom matching one code point. */
  private charClass(): string {
    const negated = this.eat('^');
    const plain: string[] = [];
    const complements: string[] = [];
    let first = true;
    for (;;) {
      const c = this.peek();
      if (c === undefined) this.fail('unterminated character set');
      if (c === ']' && !first) {
        this.pos++;
        break;
      }
      first = false;
      this.pos++;
      const start = this.classItem(c);
      if (typeof start === 'string') {
        if (this.peek() === '-' && this.peek(1) !== undefined && this.peek(1) !== ']') this.fail('bad character range');
        if (start.startsWith('^')) complements.push(start.slice(1));
        else plain.push(start);
        continue;
      }
      if (this.peek() === '-' && this.peek(1) !== undefined && this.peek(1) !== ']') {
        this.pos++;
        const endChar = this.next();
        const end = this.classItem(endChar);
        if (typeof end === 'string') this.fail('bad character range');
        if (end < start) this.fail('bad character range');
        plain.push(`${literal(start)}-${literal(end)}`);
      } else plain.push(literal(start));
    }
    const positive = [...(plain.length > 0 || complements.length === 0 ? [`[${plain.join('')}]`] : []), ...complements.map((x) => `[^${x}]`)];
    if (complements.length === 0) return `[${negated ? '^' : ''}${plain.join('')}]`;
    const any = positive.length === 1 ? positive[0]! : `(?:${positive.join('|')})`;
    return negated ? `(?:(?!${any})[\\s\\S])` : any;
  }

  /** One member of a class: a code point, or a class escape's inside ('^' + inside for \W \S \D). */
  private classItem(c: string): number | string {
    if (c !== '\\') return c.codePointAt(0)!;
    const e = this.next();
    if (e === 'd' || e === 'w' || e === 's') return this.classEscape(e);
    if (e === 'D' || e === 'W' || e === 'S') return '^' + this.classEscape(e.toLowerCase());
    if (e === 'b') return 8;
    if (OCT.test(e)) {
      const v = this.octal(e);
      if (v > 0o377) this.fail(`octal escape value outside of range 0-0o377`);
      return v;
    }
    if (DIGITS.test(e)) this.fail(`bad escape \\${e}`);
    return this.commonEscape(e);
  }
}

function applyFlags(flags: Flags, on: string, off: string, p: Parser): Flags {
  if (on.includes('L')) p.fail("bad inline flag: cannot use 'L' flag with a str pattern");
  if (on.includes('a') && on.includes('u')) p.fail("bad inline flag: flags 'a', 'u' and 'L' are incompatible");
  for (const f of off) if (on.includes(f)) p.fail('bad inline flag: flag turned on and off');
  const has = (f: string, now: boolean): boolean => (off.includes(f) ? false : on.includes(f) ? true : now);
  return { i: has('i', flags.i), m: has('m', flags.m), s: has('s', flags.s), x: has('x', flags.x), a: on.includes('u') ? false : has('a', flags.a) };
}

/** [min, max] code points a node matches (Python's getwidth), for the fixed-width look-behind rule. */
function width(node: Node, groups = new Map<number, [number, number]>()): [number, number] {
  switch (node.t) {
    case 'atom':
      return [1, 1];
    case 'assert':
    case 'look':
      return [0, 0];
    case 'cat': {
      let lo = 0;
      let hi = 0;
      for (const item of node.items) {
        const [a, b] = width(item, groups);
        lo += a;
        hi += b;
      }
      return [lo, hi];
    }
    case 'alt': {
      let lo = Infinity;
      let hi = 0;
      for (const b of node.branches) {
        const [x, y] = width(b, groups);
        lo = Math.min(lo, x);
        hi = Math.max(hi, y);
      }
      return [lo, hi];
    }
    case 'group': {
      const w = width(node.body, groups);
      if (node.index !== null) groups.set(node.index, w);
      return w;
    }
    case 'repeat': {
      const [a, b] = width(node.body, groups);
      return [a * node.min, node.max === Infinity ? (b === 0 ? 0 : Infinity) : b * node.max];
    }
    case 'backref':
      return groups.get(node.index) ?? [0, Infinity];
  }
}

function emit(node: Node): string {
  switch (node.t) {
    case 'atom':
    case 'assert':
      return node.js;
    case 'cat':
      return node.items.map(emit).join('');
    case 'alt':
      return node.branches.map(emit).join('|');
    case 'group':
      return node.index === null ? `(?:${emit(node.body)})` : `(${emit(node.body)})`;
    case 'look':
      return `(?${node.kind}${emit(node.body)})`;
    case 'repeat': {
      const q =
        node.min === 0 && node.max === Infinity
          ? '*'
          : node.min === 1 && node.max === Infinity
            ? '+'
            : node.min === 0 && node.max === 1
              ? '?'
              : `{${node.min},${node.max === Infinity ? '' : node.max}}`;
      return `(?:${emit(node.body)})${q}${node.lazy ? '?' : ''}`;
    }
    case 'backref':
      return `(?:\\${node.index})`;
  }
}

/**
 * Groups whose capture JavaScript and Python may leave different: inside a repetition, behind an
 * alternative or an optional part of that repetition (JavaScript clears the captures of a
 * repeated group at each pass, Python keeps the last one set). A repeated group itself is fine.
 */
function unstableGroups(root: Node): Set<number> {
  const out = new Set<number>();
  // optional: since some enclosing repetition, the node sits behind an alternative or an optional part.
  const walk = (node: Node, inRepeat: boolean, optional: boolean): void => {
    switch (node.t) {
      case 'cat':
        for (const item of node.items) walk(item, inRepeat, optional);
        return;
      case 'alt':
        for (const b of node.branches) walk(b, inRepeat, optional || inRepeat);
        return;
      case 'group':
        if (node.index !== null && inRepeat && optional) out.add(node.index);
        walk(node.body, inRepeat, optional);
        return;
      case 'look':
        walk(node.body, inRepeat, optional);
        return;
      case 'repeat': {
        const here = optional || (inRepeat && node.min === 0);
        const body = node.body;
        if (node.max > 1 && body.t === 'group' && body.index !== null) {
          // The repeated group itself is set on every pass of its own repetition.
          if (inRepeat && here) out.add(body.index);
          walk(body.body, true, here);
        } else walk(body, inRepeat || node.max > 1, here);
        return;
      }
      default:
        return;
    }
  };
  walk(root, false, false);
  return out;
}

/** Groups that may not take part in a match (behind an alternative or an optional repetition). */
function optionalGroups(root: Node): Set<number> {
  const out = new Set<number>();
  const walk = (node: Node, optional: boolean): void => {
    switch (node.t) {
      case 'cat':
        for (const item of node.items) walk(item, optional);
        return;
      case 'alt':
        for (const b of node.branches) walk(b, true);
        return;
      case 'group':
        if (node.index !== null && optional) out.add(node.index);
        walk(node.body, optional);
        return;
      case 'look':
        walk(node.body, optional || node.kind === '!' || node.kind === '<!');
        return;
      case 'repeat':
        walk(node.body, optional || node.min === 0);
        return;
      default:
        return;
    }
  };
  walk(root, false);
  return out;
}

function backrefs(node: Node, out: number[] = []): number[] {
  switch (node.t) {
    case 'cat':
      node.items.forEach((n) => backrefs(n, out));
      break;
    case 'alt':
      node.branches.forEach((n) => backrefs(n, out));
      break;
    case 'group':
    case 'look':
    case 'repeat':
      backrefs(node.body, out);
      break;
    case 'backref':
      out.push(node.index);
      break;
    default:
      break;
  }
  return out;
}

/** Python's re.compile(pattern) as a JavaScript RegExp, or a PythonRegexError saying why not. */
export function translatePattern(pattern: string): TranslatedRegex {
  const parser = new Parser(pattern);
  const tree = parser.parse();
  const optional = optionalGroups(tree);
  const unstable = unstableGroups(tree);
  for (const index of backrefs(tree)) {
    // JavaScript matches a backreference to a group that took no part as empty; Python fails it.
    if (optional.has(index) || unstable.has(index)) {
      throw new PythonRegexError(`a backreference to group ${index}, which may take no part in the match, has no faithful JavaScript form (in ${JSON.stringify(pattern)})`);
    }
  }
  const source = emit(tree);
  const flags = parser.globalIgnoreCase ? 'gudi' : 'gud';
  let regex: RegExp;
  try {
    regex = new RegExp(source, flags);
  } catch (err) {
    throw new PythonRegexError(`${JSON.stringify(pattern)} has no JavaScript form: ${(err as Error).message}`);
  }
  const sticky = new Map<number, RegExp>();
  return {
    regex,
    tester: new RegExp(source, flags.replace('g', '').replace('d', '')),
    nonEmptyAt(position) {
      let r = sticky.get(position);
      if (r === undefined) {
        // Ends after `position` (counted in code points, as the u flag counts): not empty.
        r = new RegExp(`(?:${source})(?<=^[\\s\\S]{${position + 1},})`, flags.replace('g', 'y'));
        if (sticky.size < 64) sticky.set(position, r);
      }
      return r;
    },
    groups: parser.groups,
    groupNames: parser.names,
    unstableGroups: unstable,
    ignoreCase: parser.globalIgnoreCase,
    canMatchEmpty: width(tree)[0] === 0,
  };
}

/**
 * The name as an ASCII (?i) pattern sees it in Python: Python lowers İ (U+0130) to i and treats
 * ı (U+0131) as i, ſ (U+017F) as s and K (U+212A) as k; JavaScript's folding lacks the first two.
 * Each stays one UTF-16 unit, so indices found in the folded name are those of the name.
 */
export function foldForMatching(name: string): string {
  return /[\u0130\u0131\u017f\u212a]/.test(name)
    ? name
        .replace(/[\u0130\u0131]/g, 'i')
        .replace(/\u017f/g, 's')
        .replace(/\u212a/g, 'k')
    : name;
}

/** A piece of a replacement: literal text, or the text of a group (0: the whole match). */
export type TemplatePart = string | number;

/** Python's replacement template (re.sub's repl): \1, \g<1>, \g<name>, \n, \\ ... as parts. */
export function translateTemplate(template: string, regex: TranslatedRegex): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let text = '';
  const chars = [...template];
  const fail = (why: string): never => {
    throw new PythonRegexError(`${why} in replacement ${JSON.stringify(template)}`);
  };
  const group = (index: number): void => {
    if (index > regex.groups) fail(`invalid group reference ${index}`);
    if (regex.unstableGroups.has(index)) fail(`group ${index} is inside a repetition that JavaScript and Python capture differently`);
    if (text !== '') parts.push(text);
    text = '';
    parts.push(index);
  };
  const ESCAPES: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\' };
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c !== '\\') {
      text += c;
      continue;
    }
    const e = chars[++i];
    if (e === undefined) return fail('bad escape (end of pattern)');
    if (e === 'g') {
      if (chars[i + 1] !== '<') fail('missing <');
      const close = chars.indexOf('>', i + 2);
      if (close === -1) fail('missing >, unterminated name');
      const name = chars.slice(i + 2, close).join('');
      i = close;
      if (/^[\p{ID_Start}_][\p{ID_Continue}]*$/u.test(name)) {
        const index = regex.groupNames.get(name);
        if (index === undefined) fail(`unknown group name '${name}'`);
        group(index!);
      } else if (/^[0-9]+$/.test(name)) group(Number(name));
      else fail(`bad character in group name '${name}'`);
    } else if (e === '0') {
      let digits = '0';
      while (digits.length < 3 && OCT.test(chars[i + 1] ?? '')) digits += chars[++i];
      text += String.fromCodePoint(parseInt(digits, 8) & 0xff);
    } else if (DIGITS.test(e)) {
      let digits = e;
      if (DIGITS.test(chars[i + 1] ?? '')) {
        digits += chars[++i];
        if (OCT.test(e) && OCT.test(digits[1]!) && OCT.test(chars[i + 1] ?? '')) {
          digits += chars[++i];
          const v = parseInt(digits, 8);
          if (v > 0o377) fail(`octal escape value \\${digits} outside of range 0-0o377`);
          text += String.fromCodePoint(v);
          continue;
        }
      }
      group(Number(digits));
    } else if (ESCAPES[e] !== undefined) text += ESCAPES[e];
    else if (ASCII_LETTERS.test(e)) fail(`bad escape \\${e}`);
    else text += '\\' + e;
  }
  if (text !== '') parts.push(text);
  return parts;
}

/** The text of one group of a match found with the d flag, taken from the (unfolded) name. */
function groupText(name: string, match: RegExpExecArray, index: number): string {
  const at = match.indices?.[index];
  return at === undefined ? '' : name.slice(at[0], at[1]);
}

function codePointEnd(s: string, i: number): number {
  const cp = s.codePointAt(i);
  return cp !== undefined && cp > 0xffff ? i + 2 : i + 1;
}

/** Code points in s[0, i). */
function codePoints(s: string, i: number): number {
  let n = 0;
  for (let k = 0; k < i; k = codePointEnd(s, k)) n++;
  return n;
}

/** Python's re.search(pattern, name) is not None. */
export function pythonSearch(regex: TranslatedRegex, name: string): boolean {
  return regex.tester.test(regex.ignoreCase ? foldForMatching(name) : name);
}

/**
 * Python's re.sub(pattern, template, name): every match replaced, left to right; after an empty
 * match the search goes on at the same place for a non-empty one, then one character further
 * (Python 3.7's rule: an empty match next to the previous match is replaced too).
 */
export function pythonSub(regex: TranslatedRegex, template: readonly TemplatePart[], name: string): string {
  const subject = regex.ignoreCase ? foldForMatching(name) : name;
  const r = regex.regex;
  let out = '';
  let copied = 0;
  let from = 0;
  let afterEmpty = false;
  while (from <= subject.length) {
    let m: RegExpExecArray | null = null;
    if (afterEmpty) {
      const sticky = regex.nonEmptyAt(codePoints(subject, from));
      sticky.lastIndex = from;
      m = sticky.exec(subject);
      if (m === null) {
        if (from >= subject.length) break;
        from = codePointEnd(subject, from);
      }
    }
    if (m === null) {
      r.lastIndex = from;
      m = r.exec(subject);
      if (m === null) break;
    }
    const start = m.index;
    const end = start + m[0].length;
    out += name.slice(copied, start);
    for (const part of template) out += typeof part === 'number' ? groupText(name, m, part) : part;
    copied = end;
    from = end;
    afterEmpty = end === start;
  }
  r.lastIndex = 0;
  return out + name.slice(copied);
}
