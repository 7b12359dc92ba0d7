// The status page on -stat-addr: GET / (static HTML, script and styles from the package's
// status-page/ folder, uPlot from its npm package: nothing from the network), GET /status.json
// (status-json.ts), GET /login?token= (sets the cookie, then back to /). A Content-Security-Policy
// forbids inline scripts and every request to another origin.
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Registry } from '../metrics.js';
import { recentProblems, type RecentProblems } from '../recent-problems.js';
import { createStatusSampler, type StatusSampler } from './history.js';
import { STATUS_COOKIE, createStatusAccess, type StatusAccess } from './status-access.js';
import { buildStatus, keysQuery, type KeyLimits } from './status-json.js';

const PAGE_DIR = fileURLToPath(new URL('../../../../status-page/', import.meta.url));
const require = createRequire(import.meta.url);

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
} as const;

/** path -> [file, content type]; read once, at start. */
function loadAssets(): Map<string, { body: Buffer; type: string }> {
  const files: Array<[string, string, string]> = [
    ['/', `${PAGE_DIR}index.html`, 'text/html; charset=utf-8'],
    ['/status/app.js', `${PAGE_DIR}app.js`, 'text/javascript; charset=utf-8'],
    ['/status/app.css', `${PAGE_DIR}app.css`, 'text/css; charset=utf-8'],
    ['/status/uplot.js', require.resolve('uplot/dist/uPlot.iife.min.js'), 'text/javascript; charset=utf-8'],
    ['/status/uplot.css', require.resolve('uplot/dist/uPlot.min.css'), 'text/css; charset=utf-8'],
  ];
  return new Map(files.map(([path, file, type]) => [path, { body: readFileSync(file), type }]));
}

export interface StatusPage {
  /** Answers the request if it is the page's; false when the path is not one of its. */
  handle(req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): boolean;
  stop(): void;
}

export function createStatusPage(opts: {
  registry: Registry;
  token: string;
  listenHost: string;
  startedAt: Date;
  problems?: RecentProblems;
  sampler?: StatusSampler;
  /** A key's quotas, shown beside its counters (the gateway's). */
  keyLimits?: ((key: string) => KeyLimits | undefined) | undefined;
}): StatusPage {
  const assets = loadAssets();
  const access: StatusAccess = createStatusAccess(opts.token, opts.listenHost);
  const sampler = opts.sampler ?? createStatusSampler(opts.registry);
  const problems = opts.problems ?? recentProblems;
  const refused = (res: ServerResponse, status: 401 | 403, why: string, html: boolean): void => {
    const headers = { ...SECURITY_HEADERS, ...(status === 401 ? { 'www-authenticate': 'Bearer realm="polymur status"' } : {}) };
    if (html && status === 401) {
      // A person at a browser: say how to get in.
      res.writeHead(401, { ...headers, 'content-type': 'text/plain; charset=utf-8' }).end(`401 ${why}: open /login?token=TOKEN (the -status-token)\n`);
    } else {
      res.writeHead(status, { ...headers, 'content-type': 'text/plain; charset=utf-8' }).end(`${status} ${why}\n`);
    }
  };
  return {
    handle(req, res, path, query) {
      if (path === '/login') {
        const candidate = query.get('token') ?? '';
        if (!access.tokenRequired || !access.matches(candidate)) {
          refused(res, access.tokenRequired ? 401 : 403, access.tokenRequired ? 'a wrong token' : 'no -status-token is set', false);
          return true;
        }
        res
          .writeHead(303, {
            ...SECURITY_HEADERS,
            location: '/',
            'set-cookie': `${STATUS_COOKIE}=${access.session}; HttpOnly; SameSite=Strict; Path=/`,
          })
          .end();
        return true;
      }
      const asset = assets.get(path);
      if (asset === undefined && path !== '/status.json') return false;
      const decision = access.check(req);
      if (!decision.allowed) {
        refused(res, decision.status, decision.why, path === '/');
        return true;
      }
      if (asset) {
        res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': asset.type }).end(req.method === 'HEAD' ? undefined : asset.body);
        return true;
      }
      const doc = buildStatus({ registry: opts.registry, sampler, problems: problems.list, startedAt: opts.startedAt, query: keysQuery(query), limitsOf: opts.keyLimits });
      res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'application/json' }).end(JSON.stringify(doc));
      return true;
    },
    stop: () => sampler.stop(),
  };
}
