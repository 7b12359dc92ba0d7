// One line to a port that speaks the original's text commands (`stats` on -stat-addr, `getdest`
// on -api-addr), as `echo stats | nc localhost 2020` sends it; resolves with the whole reply.
import { connect } from 'node:net';
import { once } from 'node:events';

export async function textCommand(port: number, line: string): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  let reply = '';
  socket.setEncoding('utf8').on('data', (s: string) => (reply += s));
  socket.end(`${line}\n`);
  await once(socket, 'close');
  return reply;
}
