// The benchmark's far end, run as its own process (fork with IPC): a Graphite plaintext TCP server
// that counts every point by the id in its value field (see load-generator.ts pointId), so it can
// tell lost and duplicated points apart, and notes when each point first arrived (for latency).
import { createServer } from 'node:net';
import { writeFileSync } from 'node:fs';

const connections = Number(process.argv[2]);
const perConnection = Number(process.argv[3]);
const total = connections * perConnection;
const seen = new Uint8Array(total);
const arrival = new Float64Array(total);
let lines = 0;
let distinct = 0;
let duplicates = 0;
let foreign = 0;
let lastArrivalNs = 0n;

const SPACE = 0x20;
const LF = 0x0a;

/** Reads the id in the value field of the line starting at `start`; -1 when it is not one of ours. */
function idAt(buf: Buffer, start: number, end: number): number {
  let i = buf.indexOf(SPACE, start);
  if (i < 0 || i >= end) return -1;
  i++;
  let n = 0;
  for (; i < end; i++) {
    const c = buf[i]!;
    if (c === SPACE) break;
    if (c < 0x30 || c > 0x39) return -1;
    n = n * 10 + (c - 0x30);
  }
  const connection = Math.floor(n / 1_000_000_000);
  const seq = n % 1_000_000_000;
  if (connection >= connections || seq >= perConnection) return -1;
  return connection * perConnection + seq;
}

const server = createServer((socket) => {
  let carry: Buffer | null = null;
  socket.on('data', (chunk: Buffer) => {
    const now = process.hrtime.bigint();
    const nowMs = Number(now) / 1e6;
    const buf: Buffer = carry ? Buffer.concat([carry, chunk]) : chunk;
    let start = 0;
    for (let nl = buf.indexOf(LF, start); nl !== -1; nl = buf.indexOf(LF, start)) {
      lines++;
      const id = idAt(buf, start, nl);
      if (id < 0) foreign++;
      else if (seen[id]) duplicates++;
      else {
        seen[id] = 1;
        arrival[id] = nowMs;
        distinct++;
      }
      start = nl + 1;
    }
    carry = start < buf.length ? Buffer.from(buf.subarray(start)) : null;
    lastArrivalNs = now;
  });
  socket.on('error', () => {});
});

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.send!({ type: 'listening', port: typeof address === 'object' && address ? address.port : 0 });
});

process.on('message', (msg: { type: string; file?: string }) => {
  if (msg.type === 'report') {
    const cpu = process.cpuUsage();
    process.send!({ type: 'report', lines, distinct, duplicates, foreign, lastArrivalMs: Number(lastArrivalNs) / 1e6, cpuSeconds: (cpu.user + cpu.system) / 1e6 });
  } else if (msg.type === 'dump' && msg.file) {
    writeFileSync(msg.file, Buffer.from(arrival.buffer));
    process.send!({ type: 'dumped' });
  } else if (msg.type === 'stop') {
    server.close();
    process.exit(0);
  }
});
