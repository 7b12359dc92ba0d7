// The send queue of a real connection on 127.0.0.1, read from /proc/net/tcp: bytes written to a
// peer that does not read stay in it; once the peer reads, it empties. The unread bytes (ours and the
// peer's receive queue) by the sock_diag addon where it is built, as /proc/net/tcp lists them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { readSendQueue, readUnread, type UnreadBytes } from '../../src/net/send-queue.js';
import { until } from '../../harness/wait.js';

/** A connection on 127.0.0.1 whose accepting end does not read until resumed; `peer()` once accepted. */
async function connectToPausedPeer(): Promise<{ client: Socket; server: Server; peer: () => Socket | undefined }> {
  let peer: Socket | undefined;
  const server = createServer((s) => {
    s.pause();
    peer = s;
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  const client = connect(address.port, '127.0.0.1');
  await once(client, 'connect');
  return { client, server, peer: () => peer };
}

test('send queue: what a peer that does not read leaves in our kernel, and none once it reads', async () => {
  const { client, server, peer: accepted } = await connectToPausedPeer();
  try {
    const queued = (): number | undefined =>
      readSendQueue({ address: client.localAddress!, port: client.localPort! }, { address: client.remoteAddress!, port: client.remotePort! });
    assert.equal(queued(), 0, 'nothing written, nothing queued');
    // More than the peer's receive buffer takes: the rest waits in our send queue.
    client.write(Buffer.alloc(8 * 1024 * 1024, 0x61));
    await until('bytes wait in the send queue', () => (queued() ?? 0) > 0, 10_000);
    await until('the peer connected', () => accepted() !== undefined, 10_000);
    accepted()!.resume();
    await until('the send queue empties once the peer reads', () => queued() === 0, 20_000);
    assert.equal(readSendQueue({ address: '127.0.0.1', port: client.localPort! }, { address: '127.0.0.1', port: 1 }), undefined, 'no such connection');
  } finally {
    client.destroy();
    accepted()?.destroy();
    server.close();
  }
});

test("unread bytes: our send queue and the peer's receive queue while it does not read, as /proc/net/tcp lists them; none once it reads", async () => {
  const { client, server, peer: accepted } = await connectToPausedPeer();
  try {
    const ours = { address: client.localAddress!, port: client.localPort! };
    const theirs = { address: client.remoteAddress!, port: client.remotePort! };
    const unread = (): UnreadBytes | undefined => readUnread(ours, theirs);
    assert.deepEqual({ ...unread(), readStartedAt: 0 }, { readStartedAt: 0, sendQueue: 0, peerUnread: 0, peerListedFirst: false });
    client.write(Buffer.alloc(8 * 1024 * 1024, 0x61));
    await until('the peer connected', () => accepted() !== undefined, 10_000);
    // Both buffers full: nothing moves, and the two ways of reading the counts agree.
    let last: UnreadBytes | undefined;
    await until(
      'the queues stop moving',
      async () => {
        const before = unread();
        await new Promise((r) => setTimeout(r, 200));
        last = unread();
        return before !== undefined && last !== undefined && before.sendQueue === last.sendQueue && before.peerUnread === last.peerUnread && last.sendQueue > 0;
      },
      20_000,
    );
    assert.ok(last!.peerUnread! > 0, 'the peer holds what it received and did not read');
    assert.equal(
      readSendQueue(ours, theirs, (path) => readFileSync(path, 'utf8')),
      last!.sendQueue,
      'as /proc/net/tcp lists it',
    );
    accepted()!.resume();
    await until('nothing unread once the peer reads', () => unread()?.sendQueue === 0 && unread()?.peerUnread === 0, 20_000);
    assert.equal(readUnread({ address: '127.0.0.1', port: client.localPort! }, { address: '127.0.0.1', port: 1 }), undefined, 'no such connection');
  } finally {
    client.destroy();
    accepted()?.destroy();
    server.close();
  }
});
