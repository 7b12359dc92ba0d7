// Graphite plaintext load: collectd-style metric names (hosts x plugins x type instances), values
// that carry a unique point id (so a receiver can count every point exactly once), timestamps that
// vary, and a seeded PRNG so runs are comparable. Sends over several connections at full speed or
// at a set rate, honouring socket backpressure.
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';

/** mulberry32: small, fast, seedable. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PLUGINS = [
  ['cpu', ['user', 'system', 'idle', 'wait', 'nice', 'interrupt', 'softirq', 'steal']],
  ['memory', ['used', 'free', 'cached', 'buffered']],
  ['load', ['shortterm', 'midterm', 'longterm']],
  ['interface-eth0', ['if_octets.rx', 'if_octets.tx', 'if_packets.rx', 'if_packets.tx', 'if_errors.rx', 'if_errors.tx']],
  ['df-root', ['df_complex-free', 'df_complex-used', 'df_complex-reserved']],
  ['disk-sda', ['disk_octets.read', 'disk_octets.write', 'disk_ops.read', 'disk_ops.write', 'disk_time.read', 'disk_time.write']],
] as const;

/** Metric names like `collectd.web-042.cpu-3.cpu-idle`, in a deterministic order for a seed. */
export function metricNames(count: number, seed = 1): string[] {
  const random = seededRandom(seed);
  const names: string[] = [];
  for (let i = 0; names.length < count; i++) {
    const host = `host-${String(i % 997).padStart(3, '0')}`;
    const [plugin, types] = PLUGINS[Math.floor(random() * PLUGINS.length)]!;
    const type = types[Math.floor(random() * types.length)]!;
    const instance = plugin === 'cpu' ? `cpu-${Math.floor(random() * 16)}.cpu-${type}` : `${plugin}.${type}`;
    names.push(`collectd.${host}.${instance}.${i}`);
  }
  return names;
}

/** The unique id a line carries in its value field: connection and sequence number. */
export function pointId(connection: number, seq: number): number {
  return connection * 1_000_000_000 + seq;
}

export interface LoadOptions {
  readonly host?: string;
  readonly port: number;
  readonly connections: number;
  /** Points in total, spread evenly over the connections. */
  readonly points: number;
  /** Points per second over all connections; full speed when absent. */
  readonly ratePerSecond?: number;
  readonly seed?: number;
  readonly distinctNames?: number;
  /** First timestamp; each point's timestamp is this plus its sequence modulo an hour. */
  readonly baseTimestamp?: number;
  /** Called when a chunk is handed to the socket, with the ids it holds (for latency). */
  readonly onChunk?: (connection: number, firstSeq: number, count: number, at: bigint) => void;
}

const LINES_PER_CHUNK = 1000;

export function buildChunk(names: readonly string[], connection: number, firstSeq: number, count: number, baseTs: number): Buffer {
  let text = '';
  for (let seq = firstSeq; seq < firstSeq + count; seq++) {
    text += `${names[(seq * 7 + connection) % names.length]} ${pointId(connection, seq)} ${baseTs + (seq % 3600)}\n`;
  }
  return Buffer.from(text);
}

async function sendOne(socket: Socket, chunk: Buffer): Promise<void> {
  if (!socket.write(chunk)) await once(socket, 'drain');
}

export async function sendLoad(opts: LoadOptions): Promise<{ sent: number; elapsedMs: number }> {
  const names = metricNames(opts.distinctNames ?? 10_000, opts.seed ?? 1);
  const baseTs = opts.baseTimestamp ?? Math.floor(Date.now() / 1000) - 3600;
  const perConnection = Math.ceil(opts.points / opts.connections);
  const started = process.hrtime.bigint();
  let sent = 0;

  await Promise.all(
    Array.from({ length: opts.connections }, async (_, connection) => {
      const total = Math.min(perConnection, opts.points - connection * perConnection);
      if (total <= 0) return;
      const socket = connect(opts.port, opts.host ?? '127.0.0.1');
      await once(socket, 'connect');
      const perConnRate = opts.ratePerSecond ? opts.ratePerSecond / opts.connections : 0;
      for (let seq = 0; seq < total; seq += LINES_PER_CHUNK) {
        const count = Math.min(LINES_PER_CHUNK, total - seq);
        if (perConnRate > 0) {
          const dueNs = started + BigInt(Math.round((seq / perConnRate) * 1e9));
          const waitMs = Number(dueNs - process.hrtime.bigint()) / 1e6;
          if (waitMs > 1) await new Promise((r) => setTimeout(r, waitMs));
        }
        opts.onChunk?.(connection, seq, count, process.hrtime.bigint());
        await sendOne(socket, buildChunk(names, connection, seq, count, baseTs));
        sent += count;
      }
      socket.end();
      await once(socket, 'close');
    }),
  );
  return { sent, elapsedMs: Number(process.hrtime.bigint() - started) / 1e6 };
}
