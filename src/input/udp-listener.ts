// Graphite plaintext over UDP, as carbon's ENABLE_UDP_LISTENER takes it: one or more lines per
// datagram, a last line without LF is a line, nothing is joined across datagrams. UDP cannot push
// back, so loss is made visible instead: datagrams the kernel dropped because the receive buffer
// was full (the `drops` column of /proc/net/udp for our socket, polled) and datagrams read while
// the batcher is full are both counted by reason and logged (rate-limited).
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { isIP, type AddressInfo } from 'node:net';
import type { Batcher } from '../batch/batcher.js';
import type { Stage } from '../lifecycle/stage.js';
import { rateLimitedLog } from '../observe/log.js';
import type { Registry } from '../observe/metrics.js';
import { canonicalHost, formatHostPort, parseHostPort } from '../net/address.js';
import { filterLines, INVALID_REASON_LABELS, MAX_LINE_BYTES, type InvalidReason } from '../protocol/lines.js';
import { readUdpDrops } from './udp-drops.js';

/** close() and destroy() both close the socket: what the kernel holds for it is gone, as with carbon. */
export interface UdpListener extends Stage {
  readonly address: AddressInfo;
  /** The receive buffer the kernel gave (Linux reports twice what it grants, its bookkeeping included). */
  readonly receiveBufferBytes: number;
}

/** Why a datagram was dropped: the `reason` label of polymur_udp_datagrams_dropped_total. */
const DROP_REASONS = ['receive_buffer', 'queue_full'] as const;

/** How often the kernel's drop count is read. */
const DROP_POLL_MS = 2000;

export interface UdpListenerOptions {
  readonly listenAddr: string;
  readonly batcher: Batcher;
  /** Asked of the kernel (SO_RCVBUF); net.core.rmem_max caps it. */
  readonly receiveBufferBytes: number;
  readonly metrics: Registry;
  readonly log: (msg: string) => void;
  readonly onReceived?: (points: number) => void;
  /** Where the kernel's UDP sockets are listed (the tests' and non-default namespaces' hook). */
  readonly procNet?: { readonly udp: string; readonly udp6: string };
}

export async function createUdpListener(opts: UdpListenerOptions): Promise<UdpListener> {
  const { host, port } = parseHostPort(opts.listenAddr);
  const ipv6 = host === '::' || isIP(host) === 6;
  const received = opts.metrics.counter('polymur_points_received_total', 'Valid data points read from clients');
  const invalid = opts.metrics.counter('polymur_points_invalid_total', 'Invalid data points dropped, by reason', INVALID_REASON_LABELS);
  const datagrams = opts.metrics.counter('polymur_udp_datagrams_total', 'UDP datagrams read');
  const dropped = opts.metrics.counter(
    'polymur_udp_datagrams_dropped_total',
    'UDP datagrams lost, by reason: receive_buffer (the kernel dropped them, the socket buffer full), queue_full (read while the batch queue was full)',
    DROP_REASONS.map((reason) => ({ reason })),
  );
  const invalidLog = rateLimitedLog(opts.log);
  const onInvalid = (line: Buffer, reason: InvalidReason): void => {
    invalid.inc(1, { reason });
    invalidLog(`Invalid data point dropped (${reason}): ${JSON.stringify(line.subarray(0, 200).toString('latin1'))}`);
  };
  const dropLog = rateLimitedLog(opts.log);

  // Set while the batcher refuses: what arrives meanwhile cannot wait anywhere.
  let full = false;
  let fullDrops = 0;
  const socket: Socket = createSocket({ type: ipv6 ? 'udp6' : 'udp4', recvBufferSize: opts.receiveBufferBytes });
  socket.on('message', (msg) => {
    datagrams.inc();
    if (full) {
      dropped.inc(1, { reason: 'queue_full' });
      fullDrops++;
      return;
    }
    const lines = filterLines(msg, 0, msg.length, undefined, onInvalid, MAX_LINE_BYTES);
    if (lines.points === 0) return;
    received.inc(lines.points);
    opts.onReceived?.(lines.points);
    if (!opts.batcher.add(lines.data, lines.points)) {
      full = true;
      opts.batcher.whenReady(() => {
        full = false;
        dropLog(`UDP: dropped ${fullDrops} datagrams read while the batch queue was full`);
        fullDrops = 0;
      });
    }
  });
  socket.on('error', (err) => opts.log(`UDP listener error: ${err.message}`));
  socket.bind(port, host);
  // once() rejects when 'error' comes first (the address is taken).
  await once(socket, 'listening');
  const address = socket.address();
  const receiveBufferBytes = socket.getRecvBufferSize();
  const where = formatHostPort(address.address, address.port);
  opts.log(`UDP listener started: ${where} (receive buffer ${receiveBufferBytes} bytes; asked ${opts.receiveBufferBytes}, net.core.rmem_max caps it)`);

  // The kernel's count for this socket: it starts at 0 with the socket.
  const procNet = opts.procNet ?? { udp: '/proc/net/udp', udp6: '/proc/net/udp6' };
  const table = ipv6 ? procNet.udp6 : procNet.udp;
  const bound = { host: canonicalHost(address.address), port: address.port };
  let kernelDrops = 0;
  const pollLog = rateLimitedLog(opts.log, 1, 60_000);
  const pollFailures = opts.metrics.counter('polymur_udp_drop_poll_failures_total', `Failed reads of ${procNet.udp} for the kernel's UDP drop count`);
  let polling: Promise<void> = Promise.resolve();
  const poll = (): Promise<void> =>
    (polling = polling.then(async () => {
      try {
        const drops = readUdpDrops(await readFile(table, 'latin1'), bound);
        if (drops === undefined) throw new Error(`no socket bound to ${where} in ${table}`);
        if (drops > kernelDrops) {
          dropped.inc(drops - kernelDrops, { reason: 'receive_buffer' });
          dropLog(`UDP: the kernel dropped ${drops - kernelDrops} datagrams on ${where}, its receive buffer (${receiveBufferBytes} bytes) full; ${drops} in all`);
          kernelDrops = drops;
        }
      } catch (err) {
        pollFailures.inc();
        pollLog(`UDP: cannot read the kernel's drop count: ${(err as Error).message}`);
      }
    }));
  const timer = setInterval(() => void poll(), DROP_POLL_MS);
  timer.unref();

  let closing: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    clearInterval(timer);
    // The last count, while the socket is still listed.
    await poll();
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  };
  return {
    address,
    receiveBufferBytes,
    close() {
      closing ??= stop();
      return closing;
    },
    destroy() {
      clearInterval(timer);
      if (closing === undefined) {
        closing = Promise.resolve();
        socket.close();
      }
    },
  };
}
