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

/** Writes the decimal digits of an integer below 2^31 at `at`, zero-padded to `width`; returns the index after them. */
function writeInt(buf: Buffer, at: number, n: number, width: number): number {
  let digits = 1;
  for (let p = 10; p <= n; p *= 10) digits++;
  const end = at + Math.max(digits, width);
  for (let i = end - 1; i >= at; i--) {
    buf[i] = 0x30 + (n % 10);
    n = (n / 10) | 0;
  }
  return end;
}

/** Writes the decimal digits of a point id (up to ~4e9, past int32): high part, then 9 low digits. */
function writePointId(buf: Buffer, at: number, id: number): number {
  const high = Math.floor(id / 1e9);
  const low = id - high * 1e9;
  return high === 0 ? writeInt(buf, at, low, 1) : writeInt(buf, writeInt(buf, at, high, 1), low, 9);
}

/** Longest decimal text of a point id or a timestamp, plus the two separators. */
const NUMBERS_MAX_BYTES = 2 * 16 + 2;

/** " <timestamp>\n" for each of the hour's timestamps from baseTs, kept for the last baseTs asked. */
let stamps: { baseTs: number; texts: Buffer[] } = { baseTs: NaN, texts: [] };
function stampTexts(baseTs: number): Buffer[] {
  if (stamps.baseTs !== baseTs) stamps = { baseTs, texts: Array.from({ length: 3600 }, (_, i) => Buffer.from(` ${baseTs + i}\n`)) };
  return stamps.texts;
}

/**
 * `count` lines `<name> <point id> <timestamp>\n` written straight into one Buffer: the generator
 * shares the benchmark machine's cores with the programs it measures, so it must cost little.
 */
export function buildChunk(names: readonly Buffer[], connection: number, firstSeq: number, count: number, baseTs: number): Buffer {
  const texts = stampTexts(baseTs);
  let bytes = 0;
  for (let seq = firstSeq; seq < firstSeq + count; seq++) bytes += names[(seq * 7 + connection) % names.length]!.length + NUMBERS_MAX_BYTES;
  const buf = Buffer.allocUnsafe(bytes);
  let at = 0;
  for (let seq = firstSeq; seq < firstSeq + count; seq++) {
    const name = names[(seq * 7 + connection) % names.length]!;
    buf.set(name, at);
    at += name.length;
    buf[at++] = 0x20;
    at = writePointId(buf, at, pointId(connection, seq));
    const stamp = texts[seq % 3600]!;
    buf.set(stamp, at);
    at += stamp.length;
  }
  return buf.subarray(0, at);
}

/** The names as the bytes buildChunk copies. */
export function encodeNames(names: readonly string[]): Buffer[] {
  return names.map((n) => Buffer.from(n));
}

async function sendOne(socket: Socket, chunk: Buffer): Promise<void> {
  if (!socket.write(chunk)) await once(socket, 'drain');
}

export async function sendLoad(opts: LoadOptions): Promise<{ sent: number; elapsedMs: number }> {
  const names = encodeNames(metricNames(opts.distinctNames ?? 10_000, opts.seed ?? 1));
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
