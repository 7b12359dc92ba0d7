// carbon's canonical form of a series name, TaggedSeries.parse(name).path (carbon/util.py, 1.1):
// `name;tag=value;...` (or OpenMetrics `name{tag="value",...}`) with the tags sorted, a repeated
// tag keeping its last value, a `name` tag replaced by the metric, leading `~` of the metric cut.
// carbon-relay applies it with TAG_RELAY_NORMALIZED; a name it cannot parse is kept as it is
// (carbon logs and goes on with it): here too, with the reason given to the caller.
import { PolymurError } from '../errors.js';

/** Why a name is not a valid tagged series; the name then goes on unchanged. */
export class TagSyntaxError extends PolymurError {
  readonly code = 'POLYMUR_ERR_TAG_SYNTAX';
}

const PROHIBITED_IN_TAG = [';', '!', '^', '='];

function validateTagAndValue(tag: string, value: string): void {
  if (tag.length === 0) throw new TagSyntaxError('Tag may not be empty');
  if (value.length === 0) throw new TagSyntaxError(`Value for tag "${tag}" may not be empty`);
  for (const c of PROHIBITED_IN_TAG) if (tag.includes(c)) throw new TagSyntaxError(`Character "${c}" is not allowed in tag "${tag}"`);
  if (value.includes(';')) throw new TagSyntaxError(`Character ";" is not allowed in value "${value}" of tag ${tag}`);
  if (value.startsWith('~')) throw new TagSyntaxError(`Tag values are not allowed to start with "~" in tag "${tag}"`);
}

function sanitizeNameAsTagValue(name: string): string {
  const sanitized = name.replace(/^~+/, '');
  if (sanitized.length === 0) throw new TagSyntaxError(`Cannot use metric name ${name} as tag value, results in emptry string`);
  return sanitized;
}

/** Python's sorted() on str: by code point (JavaScript's < compares UTF-16 units). */
function byCodePoint(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    // A surrogate stands for a code point above every BMP unit.
    if (xs !== ys) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

function format(tags: Map<string, string>): string {
  const parts: string[] = [];
  for (const [tag, value] of tags) if (tag !== 'name') parts.push(`;${tag}=${value}`);
  return (tags.get('name') ?? '') + parts.sort(byCodePoint).join('');
}

function parseCarbon(path: string): Map<string, string> {
  const segments = path.split(';');
  const metric = segments[0]!;
  if (metric === '') throw new TagSyntaxError(`Cannot parse path ${path}, no metric found`);
  const tags = new Map<string, string>();
  for (const segment of segments.slice(1)) {
    const eq = segment.indexOf('=');
    if (eq <= 0) throw new TagSyntaxError(`Cannot parse path ${path}, invalid segment ${segment}`);
    const tag = segment.slice(0, eq);
    const value = segment.slice(eq + 1);
    validateTagAndValue(tag, value);
    tags.set(tag, value);
  }
  tags.set('name', sanitizeNameAsTagValue(metric));
  return tags;
}

/** Python's re.match(r'([^=]+)="((?:[\\]["\\]|[^"\\])+)"(:?,|$)', rawtags), anchored at the start. */
const OPENMETRICS_SEGMENT = /^([^=]+)="((?:[\\]["\\]|[^"\\])+)"(:?,|$)/u;

function parseOpenMetrics(path: string): Map<string, string> {
  const inner = path.slice(0, -1).split('{');
  // Python unpacks split('{', 2) into two names: more than one `{` is a ValueError.
  if (inner.length !== 2) throw new TagSyntaxError(`Cannot parse path ${path}, too many values to unpack`);
  const metric = inner[0]!;
  let rawtags = inner[1]!;
  if (metric === '') throw new TagSyntaxError(`Cannot parse path ${path}, no metric found`);
  const tags = new Map<string, string>();
  while (rawtags.length > 0) {
    const m = OPENMETRICS_SEGMENT.exec(rawtags);
    if (m === null) throw new TagSyntaxError(`Cannot parse path ${path}, invalid segment ${rawtags}`);
    const tag = m[1]!;
    const value = m[2]!.replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    validateTagAndValue(tag, value);
    tags.set(tag, value);
    rawtags = rawtags.slice(m[0].length);
  }
  tags.set('name', sanitizeNameAsTagValue(metric));
  return tags;
}

/** TaggedSeries.parse(name).path; throws TagSyntaxError where carbon's parse raises. */
export function normalizeTaggedName(path: string): string {
  if (path.endsWith('"}') && path.includes('{')) return format(parseOpenMetrics(path));
  return format(parseCarbon(path));
}
