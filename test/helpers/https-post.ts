// A raw HTTPS POST to the gateway (the wire protocol without a proxy in between).
import { request } from 'node:https';

export interface PostReply {
  readonly status: number;
  readonly body: string;
  readonly headers: Record<string, unknown>;
}

/** `tls`: a client certificate and key (mTLS), and the loopback address to connect from. */
export function post(
  port: number,
  path: string,
  headers: Record<string, string>,
  body: Buffer,
  ca: Buffer,
  tls: { cert?: Buffer; key?: Buffer; localAddress?: string } = {},
): Promise<PostReply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', servername: 'localhost', port, path, method: 'POST', headers, ca, ...tls }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (s: string) => (text += s));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
