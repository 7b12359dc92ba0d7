// The benchmark's far end, run as its own process (fork with IPC): a Graphite plaintext TCP server
// that counts every point by the id in its value field (see load-generator.ts pointId), so it can
// tell lost and duplicated points apart, and notes when each point first arrived (for latency).
import { createServer, Socket, type SocketConstructorOpts } from 'node:net';
import { writeFileSync } from 'node:fs';

const connections = Number(process.argv[2]);
const perConnection = Number(process.argv[3]);
/** The loopback address to listen on: 127.0.0.1 unless told (hash-route tells hosts apart: 127.0.0.2, ...). */
const host = process.argv[4] ?? '127.0.0.1';
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

/**
 * The id in the value field of the line [start, nl), read from the line's end: back over the
 * timestamp, then the value's digits, so the name (most of the line) is never scanned.
 * -1 when it is not one of ours: no name before the value, a value that is not digits, or out of range.
 */
function idBefore(buf: Buffer, start: number, nl: number): number {
  let i = nl - 1;
  while (i > start && buf[i] !== SPACE) i--;
  let n = 0;
  let scale = 1;
  for (i--; i > start; i--) {
    const digit = buf[i]! - 0x30;
    if (digit === SPACE - 0x30) break;
    if (digit < 0 || digit > 9) return -1;
    n += digit * scale;
    scale *= 10;
  }
  if (i <= start || scale === 1) return -1;
  const connection = Math.floor(n / 1_000_000_000);
  const seq = n - connection * 1_000_000_000;
  // Negated so that NaN (a value too long for a double) is foreign too.
  if (!(connection < connections && seq < perConnection)) return -1;
  return connection * perConnection + seq;
}

/** Counts the line [start, nl) as ours (first or repeated) or foreign. */
function count(buf: Buffer, start: number, nl: number, nowMs: number): void {
  lines++;
  const id = idBefore(buf, start, nl);
  if (id < 0) foreign++;
  else if (seen[id]) duplicates++;
  else {
    seen[id] = 1;
    arrival[id] = nowMs;
    distinct++;
  }
}

/** Counts the lines of one connection's reads; a line that a read cut off is kept (copied) to join the next. */
function lineCounter(): (chunk: Buffer) => void {
  let carry: Buffer | null = null;
  return (chunk) => {
    const now = process.hrtime.bigint();
    lastArrivalNs = now;
    const nowMs = Number(now) / 1e6;
    let start = 0;
    if (carry) {
      const nl = chunk.indexOf(LF);
      if (nl < 0) {
        carry = Buffer.concat([carry, chunk]);
        return;
      }
      const line = Buffer.concat([carry, chunk.subarray(0, nl)]);
      count(line, 0, line.length, nowMs);
      carry = null;
      start = nl + 1;
    }
    for (let nl = chunk.indexOf(LF, start); nl !== -1; nl = chunk.indexOf(LF, start)) {
      count(chunk, start, nl, nowMs);
      start = nl + 1;
    }
    // A copy: the read buffer is reused.
    if (start < chunk.length) carry = Buffer.from(chunk.subarray(start));
  };
}

/**
 * Every connection reads into this one buffer (a read is counted before the next begins): 1 MiB reads
 * take a sixteenth of the syscalls and callbacks of a stream's 64 KiB ones, and allocate nothing.
 */
const readBuffer = Buffer.allocUnsafe(1 << 20);

/**
 * A Socket reading through `onread` on the accepted connection. net.Server has no onread option, so
 * the connection is accepted paused and its handle (a private field) moves to a Socket that has one.
 */
function readingSocket(accepted: Socket): Socket {
  const holder = accepted as unknown as { _handle: object | null };
  const handle = holder._handle;
  if (!handle) throw new Error('bench sink: the accepted socket has no handle to read from (Node without net.Socket._handle)');
  holder._handle = null;
  const counter = lineCounter();
  const onread = { buffer: readBuffer, callback: (bytes: number) => counter(readBuffer.subarray(0, bytes)) };
  // handle and onread: options Socket takes that its type declaration leaves out.
  return new Socket({ handle, onread } as SocketConstructorOpts);
}

const server = createServer({ pauseOnConnect: true }, (accepted) => {
  readingSocket(accepted).on('error', () => {});
});

server.listen(0, host, () => {
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
