// Every connection of a listener reads into one shared buffer, through Node's `onread`, instead of
// a fresh buffer per read. A stream's read allocates up to 64 KiB outside V8's heap and copies it
// into one of its own size; with thousands of connections ready at once, one turn of the event
// loop reads all of them before any garbage collection can run, and those buffers (dead as soon as
// the batcher has copied the lines out) sat in memory by the hundred MB. Read into one buffer, a
// connection costs no memory per read, and what a read holds is handled before the next read.
// net.Server has no onread option: the connection is accepted paused and its handle (a private
// field of net.Socket) moves to a Socket that has one; where a Node has no such field, the
// accepted socket reads as a stream and hands each chunk on the same way.
import { Socket, type SocketConstructorOpts } from 'node:net';

/**
 * Bytes of one read at most: a stream's own. (256 KiB reads took the relay's peak RSS at 8 connections
 * flat out from about 80 MB to 95-190 MB: bigger bursts into the destinations' queues.)
 */
export const SHARED_READ_BYTES = 64 * 1024;

export interface SharedReader {
  /**
   * The connection `accepted` (from a server created with pauseOnConnect), reading into the shared
   * buffer: `onChunk` gets a view of it that is valid only until it returns. Paused: resume() it.
   */
  adopt(accepted: Socket, onChunk: (chunk: Buffer) => void): Socket;
}

export function createSharedReader(bytes = SHARED_READ_BYTES): SharedReader {
  const buffer = Buffer.allocUnsafe(bytes);
  return {
    adopt(accepted, onChunk) {
      const holder = accepted as unknown as { _handle?: object | null };
      const handle = holder._handle;
      if (!handle) {
        accepted.on('data', onChunk);
        return accepted;
      }
      // The accepted socket lets go of the handle; destroying it then closes nothing, and the
      // server stops counting it (the listener counts its connections itself).
      holder._handle = null;
      accepted.destroy();
      const onread = { buffer, callback: (n: number) => void onChunk(buffer.subarray(0, n)) };
      // handle, onread and pauseOnCreate: options Socket takes that its type declaration leaves out.
      return new Socket({ handle, onread, pauseOnCreate: true } as SocketConstructorOpts);
    },
  };
}
