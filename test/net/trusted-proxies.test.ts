// Which X-Forwarded-For entry names the client (src/net/trusted-proxies.ts): none unless the peer
// is trusted, then the rightmost entry that is not a trusted proxy; IPv4 peers of a dual-stack
// listener (::ffff:a.b.c.d) match IPv4 rules; entries that are not addresses are never believed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { createTrustedProxies, TrustedProxiesError } from '../../src/net/trusted-proxies.js';

const request = (peer: string, xff?: string): IncomingMessage =>
  ({ socket: { remoteAddress: peer, remotePort: 4567 }, headers: xff === undefined ? {} : { 'x-forwarded-for': xff } }) as unknown as IncomingMessage;

test('X-Forwarded-For: believed from trusted peers only, rightmost untrusted entry, addresses only', () => {
  const t = createTrustedProxies(['127.0.0.2/32', '10.1.0.0/16', 'fd00::/8']);
  const cases: Array<[string, string | undefined, string, string]> = [
    ['127.0.0.1', '6.6.6.6', '127.0.0.1', '127.0.0.1:4567'],
    ['127.0.0.2', undefined, '127.0.0.2', '127.0.0.2:4567'],
    ['127.0.0.2', '6.6.6.6, 192.0.2.1', '192.0.2.1', '192.0.2.1 via 127.0.0.2:4567'],
    ['::ffff:127.0.0.2', '192.0.2.1', '192.0.2.1', '192.0.2.1 via 127.0.0.2:4567'],
    ['127.0.0.2', '192.0.2.1, 10.1.2.3', '192.0.2.1', '192.0.2.1 via 127.0.0.2:4567'],
    ['127.0.0.2', '10.1.2.3', '10.1.2.3', '10.1.2.3 via 127.0.0.2:4567'],
    ['127.0.0.2', '10.0.0.1:5', '10.0.0.1', '10.0.0.1:5 via 127.0.0.2:4567'],
    ['fd00::1', '[2001:db8::7]:443', '2001:db8::7', '[2001:db8::7]:443 via fd00::1:4567'],
    ['fd00::1', '2001:db8::7', '2001:db8::7', '2001:db8::7 via fd00::1:4567'],
    ['127.0.0.2', 'evil\u001b[2J', '127.0.0.2', '127.0.0.2:4567'],
    ['127.0.0.2', 'unknown', '127.0.0.2', '127.0.0.2:4567'],
    ['127.0.0.2', '', '127.0.0.2', '127.0.0.2:4567'],
  ];
  for (const [peer, xff, address, label] of cases) {
    assert.deepEqual(t.clientOf(request(peer, xff)), { address, label }, `${peer} / ${xff}`);
  }
  assert.deepEqual(createTrustedProxies([]).clientOf(request('127.0.0.2', '192.0.2.1')), { address: '127.0.0.2', label: '127.0.0.2:4567' });
});

test('-trusted-proxies entries that are not an address or a CIDR are refused', () => {
  for (const bad of ['10.0.0.0/33', 'fd00::/129', '10.0.0.0/8/1', 'lb.example.com', '10.0.0.0/x', '10.0.0.0/']) {
    assert.throws(() => createTrustedProxies([bad]), TrustedProxiesError, bad);
  }
  assert.ok(createTrustedProxies(['10.0.0.1', '::1', '0.0.0.0/0']).trusts('192.0.2.1'));
});
