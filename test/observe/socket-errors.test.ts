// Socket errors are counted, never swallowed: a real polymur relay, its Graphite listener, its stat
// port and a destination each see a connection reset (RST) by the other side, and
// polymur_socket_errors_total{where,code="ECONNRESET"} counts each; the listener's is logged too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { socketErrorCode } from '../../src/observe/socket-errors.js';
import { until } from '../helpers/points.js';
import { scrape } from '../helpers/prometheus.js';
import { startRelay } from '../../harness/system.js';

/** Connects and sends `text`; once `read()` says the peer has read it, resets the connection (RST). */
async function resetAfterRead(port: number, text: string, read: (socket: Socket) => Promise<void>): Promise<void> {
  const socket = connect({ port, host: '127.0.0.1' });
  socket.on('error', () => {});
  await once(socket, 'connect');
  socket.write(text);
  // A reset that arrives with data still unread is not always an error on the reading side.
  await read(socket);
  socket.resetAndDestroy();
  await once(socket, 'close');
}

test('socketErrorCode: errno codes a socket gives are labels, anything else is "other"', () => {
  const rows: Array<[unknown, string]> = [
    [Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), 'ECONNRESET'],
    [Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }), 'EPIPE'],
    [Object.assign(new Error('read ETIMEDOUT'), { code: 'ETIMEDOUT' }), 'ETIMEDOUT'],
    [Object.assign(new Error('odd'), { code: 'EWHATEVER' }), 'other'],
    [new Error('no code'), 'other'],
    [undefined, 'other'],
  ];
  for (const [err, code] of rows) assert.equal(socketErrorCode(err), code, String(err));
});

test('a connection reset is counted where it happened: listener, stat port, destination', async () => {
  // A destination that resets every connection it accepts, once it has read a little.
  const resets: Socket[] = [];
  const destination = createServer((s) => {
    resets.push(s);
    s.on('error', () => {});
    s.once('data', () => s.resetAndDestroy());
  });
  destination.listen(0, '127.0.0.1');
  await once(destination, 'listening');
  const destPort = (destination.address() as { port: number }).port;
  const relay = await startRelay(['-destinations', `127.0.0.1:${destPort}`, '-flush-interval', '50ms']);
  try {
    const count = async (where: string): Promise<number> => (await scrape(relay.statPort)).value('polymur_socket_errors_total', { where, code: 'ECONNRESET' });
    assert.equal(await count('listener'), 0);

    const received = async (): Promise<number> => (await scrape(relay.statPort)).value('polymur_points_received_total');
    await resetAfterRead(relay.port, `a.b 1 ${Math.floor(Date.now() / 1000)}\n`, () => until('the point read', async () => (await received()) >= 1, 15_000));
    await until('the listener counted the reset', async () => (await count('listener')) >= 1, 15_000);
    await relay.waitForLog(/Socket error \(listener\): read ECONNRESET; connection closed/);

    // A keep-alive HTTP request to the stat port, answered (so read), then the reset.
    await resetAfterRead(relay.statPort, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', async (socket) => {
      let answer = '';
      socket.setEncoding('latin1');
      while (!/\r\n\r\n[\s\S]*\}/.test(answer)) answer += String((await once(socket, 'data'))[0]);
    });
    await until('the stat port counted the reset', async () => (await count('stat-port')) >= 1, 15_000);

    // The point sent above reaches the destination, which resets the relay's connection.
    await until('the destination connection reset counted', async () => (await count('destination')) >= 1, 15_000);
    assert.ok(resets.length >= 1);
  } finally {
    await relay.stop();
    destination.close();
    for (const s of resets) s.destroy();
  }
});
