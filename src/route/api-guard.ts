// Who may change routing on -api-addr. A web page open in a browser on the host can reach a
// localhost port: its requests carry an Origin or Sec-Fetch-* header, or a body type an HTML form
// can send without a CORS preflight, and no program of ours sends any of these, so they are
// refused. With -api-token, every request also proves it knows the token: `Authorization: Bearer
// TOKEN` over HTTP, `auth TOKEN COMMAND` as a text command.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** The body types of a form (and of fetch's no-preflight "simple" requests). */
const FORM_TYPES = ['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain'];

/**
 * Why the request looks like it came from a browser, or undefined. Browsers send Sec-Fetch-Site
 * (with Sec-Fetch-Mode/-Dest) on every request; Node's own fetch sends a lone `Sec-Fetch-Mode:
 * cors`, which alone is not taken as a browser's sign.
 */
export function browserSign(req: IncomingMessage): string | undefined {
  if (req.headers.origin !== undefined) return 'an Origin header';
  const fetchHeaders = Object.keys(req.headers).filter((h) => h.startsWith('sec-fetch-'));
  const lone = fetchHeaders.length === 1 && fetchHeaders[0] === 'sec-fetch-mode' && req.headers['sec-fetch-mode'] === 'cors';
  if (fetchHeaders.length > 0 && !lone) return `a ${fetchHeaders.join('/')} header`;
  const type = req.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  if (type !== undefined && FORM_TYPES.includes(type)) return `a form content type (${type}; send application/json)`;
  return undefined;
}

export interface ApiToken {
  /** Whether a token is required at all. */
  readonly required: boolean;
  /** Constant-time: how long it takes says nothing about how much of the token was right. */
  matches(candidate: string | undefined): boolean;
}

export function createApiToken(token: string): ApiToken {
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
  const expected = digest(token);
  return {
    required: token !== '',
    matches: (candidate) => token === '' || (candidate !== undefined && timingSafeEqual(digest(candidate), expected)),
  };
}

/** The token of an `Authorization: Bearer TOKEN` header. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const m = /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? '');
  return m?.[1];
}

/** A text command line `auth TOKEN COMMAND...` split into its token and its command. */
export function splitAuth(line: string): { token: string | undefined; command: string } {
  const m = /^auth\s+(\S+)\s*(.*)$/.exec(line);
  return m ? { token: m[1], command: m[2]! } : { token: undefined, command: line };
}
