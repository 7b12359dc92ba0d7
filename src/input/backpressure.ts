// Which of a listener's connections stop reading while the batcher is full, and in what order they
// read again. Pausing every connection when the batcher refuses and resuming every one when it has
// room costs a readStop and a readStart (an epoll_ctl each) per connection per turn, and flat out
// into a bounded queue the turns come every few batches: with 2,000 connections most of the
// proxy's CPU per point went there, on connections that had nothing to read. Here a connection
// pauses itself when it reads while the batcher is full (one that reads nothing costs nothing),
// and the paused ones resume in the order they paused, a bounded number per turn of the event loop.
// What a connection reads after the refusal is still delivered (the batcher keeps it), so those
// late reads are bounded: past lateReadBytes, every connection still reading is paused at once.
import type { Socket } from 'node:net';

export interface Backpressure {
  /** A new connection: reading at once, or waiting behind the paused ones while the batcher is full. */
  admit(socket: Socket): void;
  /** The connection is closed: forgotten. */
  forget(socket: Socket): void;
  /** The batcher refused (add() answered false): connections that read from now on pause, until it has room. */
  refused(): void;
  /** `socket` read `bytes`, delivered to the batcher: while it is full, the connection pauses. */
  afterRead(socket: Socket, bytes: number): void;
  /** Whether the connection is paused by backpressure (silent because we stopped reading it). */
  isPaused(socket: Socket): boolean;
  /** Connections paused now. */
  paused(): number;
  /** For close(): no more pausing; every paused connection reads again. */
  release(): void;
}

/** Bytes read after a refusal before every connection still reading is paused: 16 reads of 64 KiB. */
export const LATE_READ_BYTES = 1024 * 1024;
/** Paused connections resumed per turn of the event loop: their reads fit within LATE_READ_BYTES. */
export const RESUME_PER_TURN = 16;

export function createBackpressure(opts: {
  /** The batcher's whenReady: calls back once it has room. */
  whenReady: (listener: () => void) => void;
  lateReadBytes?: number;
  resumePerTurn?: number;
}): Backpressure {
  const lateReadBytes = opts.lateReadBytes ?? LATE_READ_BYTES;
  const resumePerTurn = opts.resumePerTurn ?? RESUME_PER_TURN;
  /** Connections reading (or free to). */
  const reading = new Set<Socket>();
  /** Paused connections, in the order they paused: the first resumes first. */
  const waiting = new Set<Socket>();
  let full = false;
  let released = false;
  let lateBytes = 0;
  let resuming: NodeJS.Immediate | undefined;

  const pause = (socket: Socket): void => {
    socket.pause();
    reading.delete(socket);
    waiting.add(socket);
  };

  /** Resumes the next few paused connections; while there is room and some wait, again next turn. */
  const resumeSome = (): void => {
    resuming = undefined;
    if (full) return;
    let n = 0;
    for (const socket of waiting) {
      if (n++ === resumePerTurn) break;
      waiting.delete(socket);
      reading.add(socket);
      socket.resume();
    }
    if (waiting.size > 0) resuming = setImmediate(resumeSome);
  };

  const onRoom = (): void => {
    full = false;
    if (resuming === undefined) resumeSome();
  };

  return {
    admit(socket) {
      if (full || waiting.size > 0) waiting.add(socket);
      else {
        reading.add(socket);
        socket.resume();
      }
    },
    forget(socket) {
      reading.delete(socket);
      waiting.delete(socket);
    },
    refused() {
      if (full || released) return;
      full = true;
      lateBytes = 0;
      opts.whenReady(onRoom);
    },
    afterRead(socket, bytes) {
      if (!full || !reading.has(socket)) return;
      pause(socket);
      lateBytes += bytes;
      if (lateBytes > lateReadBytes) for (const s of reading) pause(s);
    },
    isPaused: (socket) => waiting.has(socket),
    paused: () => waiting.size,
    release() {
      released = true;
      full = false;
      if (resuming !== undefined) clearImmediate(resuming);
      resuming = undefined;
      for (const socket of waiting) {
        reading.add(socket);
        socket.resume();
      }
      waiting.clear();
    },
  };
}
