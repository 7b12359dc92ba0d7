// Who may see the status page and /status.json. With -status-token: a request shows the token as
// `Authorization: Bearer TOKEN` or by the cookie that `GET /login?token=TOKEN` sets (HttpOnly,
// SameSite=Strict; its value is derived from the token, not the token), compared in constant time. Without one: only a stat address on loopback serves
// the page (an operator's SSH tunnel), never one bound to a network address, and only to requests
// whose Host is loopback too (a site whose name an attacker re-points at 127.0.0.1, DNS rebinding,
// is not). Requests a page on another site made (Sec-Fetch-Site: cross-site) are refused either way.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

export const STATUS_COOKIE = 'polymur_status';

export type AccessDecision = { allowed: true } | { allowed: false; status: 401 | 403; why: string };

export interface StatusAccess {
  readonly tokenRequired: boolean;
  check(req: IncomingMessage): AccessDecision;
  /** Whether a token a person typed (?token=) is the right one. */
  matches(candidate: string): boolean;
  /** The cookie's value after a login: derived from the token, so the cookie is not the token itself. */
  readonly session: string;
}

/** Whether a listen host is loopback only: localhost, 127.0.0.0/8, ::1. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h === '::1';
}

/** The host part of a Host header: `[::1]:2020` -> `::1`, `localhost:2020` -> `localhost`. */
function hostOf(header: string): string {
  const m = /^\[([^\]]*)\](?::\d*)?$/.exec(header);
  if (m) return m[1]!;
  const colon = header.lastIndexOf(':');
  return colon === -1 ? header : header.slice(0, colon);
}

function cookieValue(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

export function createStatusAccess(token: string, listenHost: string): StatusAccess {
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
  const expected = digest(token);
  const matches = (candidate: string): boolean => token !== '' && timingSafeEqual(digest(candidate), expected);
  const session = createHash('sha256').update(`polymur-status-session\0${token}`).digest('hex');
  const expectedSession = digest(session);
  const loopback = isLoopbackHost(listenHost);
  return {
    tokenRequired: token !== '',
    matches,
    session,
    check(req) {
      if (req.headers['sec-fetch-site'] === 'cross-site') return { allowed: false, status: 403, why: 'a request from another site' };
      if (token === '') {
        if (!loopback) return { allowed: false, status: 403, why: `the stat address ${listenHost} is not loopback: set -status-token to serve the status page there` };
        const host = hostOf(req.headers.host ?? '');
        return isLoopbackHost(host)
          ? { allowed: true }
          : { allowed: false, status: 403, why: `Host ${JSON.stringify(host)} is not loopback: set -status-token to reach the page by another name` };
      }
      const bearer = /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? '')?.[1];
      const cookie = cookieValue(req, STATUS_COOKIE);
      if (bearer !== undefined && matches(bearer)) return { allowed: true };
      if (cookie !== undefined && timingSafeEqual(digest(cookie), expectedSession)) return { allowed: true };
      return { allowed: false, status: 401, why: bearer === undefined && cookie === undefined ? 'no token' : 'a wrong token' };
    },
  };
}
