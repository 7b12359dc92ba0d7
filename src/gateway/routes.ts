// Which answer a request gets: 503 while closing, 404 off /ping and /ingest, 405 for /ingest
// without POST; /ping checks the key (any method, as the original's: load balancers check with
// GET); /ingest runs in ingest.ts, tracked so close() can wait for it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { rateLimitedLog } from '../observe/log.js';
import type { Authenticate } from './authenticate.js';
import type { Ingest } from './ingest.js';
import { RETRY_AFTER_SECONDS, type Reply } from './reply.js';
import type { RequestTracker } from './request-tracker.js';

export function createRequestHandler(opts: {
  readonly tracker: RequestTracker;
  readonly authenticate: Authenticate;
  readonly ingest: Ingest;
  readonly reply: Reply;
  readonly clientName: (req: IncomingMessage) => string;
  readonly log: (m: string) => void;
}): (req: IncomingMessage, res: ServerResponse) => void {
  const { tracker, reply, clientName } = opts;
  // One line per valid /ping is the original's; a client pinging in a loop must not flood the log.
  const pingLog = rateLimitedLog(opts.log);
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (tracker.closing) {
      req.resume();
      return reply(res, path, 503, 'Shutting down\n', { 'retry-after': RETRY_AFTER_SECONDS });
    }
    if (path !== '/ping' && path !== '/ingest') {
      req.resume();
      return reply(res, 'other', 404, 'Not Found\n');
    }
    if (path === '/ingest' && req.method !== 'POST') {
      req.resume();
      return reply(res, path, 405, 'Method Not Allowed\n', { allow: 'POST' });
    }
    if (path === '/ping') {
      req.resume();
      const name = opts.authenticate(req, res, path);
      if (name === undefined) return;
      pingLog(`[client ${clientName(req)}] key for ${name} is valid`);
      return reply(res, path, 200, 'key is valid\n');
    }
    tracker.begin();
    opts
      .ingest(req, res)
      .catch((err: unknown) => {
        opts.log(`[client ${clientName(req)}] request failed: ${(err as Error).message}`);
        if (!res.headersSent) reply(res, path, 500, 'Internal Error\n');
      })
      .finally(() => tracker.end());
  };
}
