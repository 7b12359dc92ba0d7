// One long-lived Graphite plaintext connection, the way collectd or statsd keep theirs open while
// the test changes things behind the receiver.
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';

export interface GraphiteStream {
  /** Writes the lines (LF added) and resolves once the socket has flushed them. */
  send(lines: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

export async function openGraphiteStream(port: number): Promise<GraphiteStream> {
  const socket: Socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  return {
    send: (lines) => new Promise((resolve, reject) => socket.write(lines.map((l) => `${l}\n`).join(''), (err) => (err ? reject(err) : resolve()))),
    async close() {
      socket.end();
      if (!socket.closed) await once(socket, 'close');
    },
  };
}

/** One short connection: writes the text as it is (a last line may lack its LF) and closes. */
export async function sendText(port: number, text: string): Promise<void> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.end(text);
  await once(socket, 'close');
}
