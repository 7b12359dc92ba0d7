// Graphite plaintext load: collectd-style metric names (hosts x plugins x type instances), values
// that carry a unique point id (so a receiver can count every point exactly once), timestamps that
// vary, and a seeded PRNG so runs are comparable. The whole load is built first, then sent over
// several connections at full speed or at a set rate, honouring socket backpressure.
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

/**
 * Metric names, back to back in one Buffer: name k is bytes[k === 0 ? 0 : ends[k - 1], ends[k]).
 * Millions of names cost their bytes and 4 more each, not a string and a Buffer apiece.
 */
export interface NameTable {
  readonly bytes: Buffer;
  readonly ends: Uint32Array;
}

const startOf = (names: NameTable, k: number): number => (k === 0 ? 0 : names.ends[k - 1]!);

const DOT = 0x2e;
const NAME_PREFIX = Buffer.from('collectd.host-');
/** Each plugin's bytes: what follows the host (`cpu-` and the CPU's number, or `memory.`), and its types (`.cpu-idle` or `used`). */
const ENCODED_PLUGINS = PLUGINS.map(([plugin, types]) =>
  plugin === 'cpu'
    ? { plugin: Buffer.from('cpu-'), cpu: true, types: types.map((t) => Buffer.from(`.cpu-${t}`)) }
    : { plugin: Buffer.from(`${plugin}.`), cpu: false, types: types.map((t) => Buffer.from(t)) },
);
/** The longest name's bytes: the prefix, 3 digits, `.cpu-15.cpu-interrupt.` and 10 digits. */
const MAX_NAME_BYTES = 64;

/**
 * `count` names like `collectd.host-042.cpu-3.cpu-idle.17`, in a deterministic order for a seed,
 * written straight into a NameTable (5,000,000 of them in a few seconds and some 250 MB).
 */
export function metricNameTable(count: number, seed = 1): NameTable {
  const random = seededRandom(seed);
  let bytes = Buffer.allocUnsafe(Math.max(MAX_NAME_BYTES, count * 48));
  const ends = new Uint32Array(count);
  let at = 0;
  const put = (part: Buffer): void => {
    bytes.set(part, at);
    at += part.length;
  };
  for (let i = 0; i < count; i++) {
    if (at + MAX_NAME_BYTES > bytes.length) bytes = Buffer.concat([bytes.subarray(0, at)], bytes.length * 2);
    put(NAME_PREFIX);
    at = writeInt(bytes, at, i % 997, 3);
    bytes[at++] = DOT;
    // The draws in the order the names always took them: plugin, type, then a CPU's number.
    const { plugin, cpu, types } = ENCODED_PLUGINS[Math.floor(random() * ENCODED_PLUGINS.length)]!;
    const type = types[Math.floor(random() * types.length)]!;
    put(plugin);
    if (cpu) at = writeInt(bytes, at, Math.floor(random() * 16), 1);
    put(type);
    bytes[at++] = DOT;
    at = writeInt(bytes, at, i, 1);
    ends[i] = at;
  }
  return { bytes: bytes.subarray(0, at), ends };
}

/** The names of metricNameTable as strings. */
export function metricNames(count: number, seed = 1): string[] {
  const table = metricNameTable(count, seed);
  return Array.from({ length: count }, (_, k) => table.bytes.toString('latin1', startOf(table, k), table.ends[k]));
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
  /** Lines per write (a chunk); LINES_PER_CHUNK when absent. A collectd-like trickle writes a few hundred at a time. */
  readonly linesPerChunk?: number;
  /**
   * With ratePerSecond: connection c starts c/connections of one chunk's interval late, so the
   * connections' writes are spread over the interval instead of all landing in the same millisecond
   * (and one timer drives them all: see sendInTurns).
   */
  readonly spreadStarts?: boolean;
  /** Connections being opened at once (the rest wait their turn), so that thousands do not overflow the listener's accept backlog; all at once when absent. */
  readonly connectAtOnce?: number;
}

const LINES_PER_CHUNK = 1000;

/** Writes the decimal digits of an integer below 2^31 at `at`, zero-padded to `width`; returns the index after them. */
function writeInt(buf: Buffer, at: number, n: number, width: number): number {
  const end = at + Math.max(decimalDigits(n), width);
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

/** " <timestamp>\n" for each of the hour's timestamps from baseTs, kept for the last baseTs asked. */
let stamps: { baseTs: number; texts: Buffer[] } = { baseTs: NaN, texts: [] };
function stampTexts(baseTs: number): Buffer[] {
  if (stamps.baseTs !== baseTs) stamps = { baseTs, texts: Array.from({ length: 3600 }, (_, i) => Buffer.from(` ${baseTs + i}\n`)) };
  return stamps.texts;
}

function decimalDigits(n: number): number {
  let digits = 1;
  for (let p = 10; p <= n; p *= 10) digits++;
  return digits;
}

/** The name of a connection's line seq: the index into the names. */
const nameOf = (names: NameTable, connection: number, seq: number): number => (seq * 7 + connection) % names.ends.length;

/** The exact byte length of lines [firstSeq, firstSeq + count) of a connection. */
function linesBytes(names: NameTable, connection: number, firstSeq: number, count: number, texts: readonly Buffer[]): number {
  let bytes = 0;
  for (let seq = firstSeq; seq < firstSeq + count; seq++) {
    const k = nameOf(names, connection, seq);
    bytes += names.ends[k]! - startOf(names, k) + 1 + decimalDigits(pointId(connection, seq)) + texts[seq % 3600]!.length;
  }
  return bytes;
}

/** Writes lines `<name> <point id> <timestamp>\n` for [firstSeq, firstSeq + count) at `at`; returns the index after them. */
function writeLines(buf: Buffer, at: number, names: NameTable, connection: number, firstSeq: number, count: number, texts: readonly Buffer[]): number {
  for (let seq = firstSeq; seq < firstSeq + count; seq++) {
    const k = nameOf(names, connection, seq);
    at += names.bytes.copy(buf, at, startOf(names, k), names.ends[k]);
    buf[at++] = 0x20;
    at = writePointId(buf, at, pointId(connection, seq));
    const stamp = texts[seq % 3600]!;
    buf.set(stamp, at);
    at += stamp.length;
  }
  return at;
}

/** `count` lines of a connection written straight into one Buffer of their exact size. */
export function buildChunk(names: NameTable, connection: number, firstSeq: number, count: number, baseTs: number): Buffer {
  const texts = stampTexts(baseTs);
  const buf = Buffer.allocUnsafe(linesBytes(names, connection, firstSeq, count, texts));
  writeLines(buf, 0, names, connection, firstSeq, count, texts);
  return buf;
}

/** One connection's whole share of the load: its bytes, and where each chunk of linesPerChunk lines ends. */
export interface ConnectionLoad {
  readonly lines: number;
  readonly bytes: Buffer;
  readonly chunkEnds: readonly number[];
  readonly linesPerChunk: number;
}

/** Builds a connection's `total` lines into one Buffer, chunk by chunk (the same bytes as buildChunk's, back to back). */
export function buildConnectionLoad(names: NameTable, connection: number, total: number, baseTs: number, linesPerChunk = LINES_PER_CHUNK): ConnectionLoad {
  const texts = stampTexts(baseTs);
  const bytes = Buffer.allocUnsafe(linesBytes(names, connection, 0, total, texts));
  const chunkEnds: number[] = [];
  let at = 0;
  for (let seq = 0; seq < total; seq += linesPerChunk) {
    at = writeLines(bytes, at, names, connection, seq, Math.min(linesPerChunk, total - seq), texts);
    chunkEnds.push(at);
  }
  return { lines: total, bytes, chunkEnds, linesPerChunk };
}

/** The names as the table buildChunk copies from. */
export function encodeNames(names: readonly string[]): NameTable {
  const encoded = names.map((n) => Buffer.from(n));
  let end = 0;
  return { bytes: Buffer.concat(encoded), ends: Uint32Array.from(encoded, (n) => (end += n.length)) };
}

/** Every connection's lines, built before anything is sent. */
export type PreparedLoad = readonly ConnectionLoad[];

/**
 * Builds the whole load ahead (about 64 bytes a point: 320 MB for 5,000,000), so that sending
 * costs the generator only its socket writes: it shares the cores with the programs it measures.
 */
export function prepareLoad(opts: Pick<LoadOptions, 'connections' | 'points' | 'seed' | 'distinctNames' | 'baseTimestamp' | 'linesPerChunk'>): PreparedLoad {
  const names = metricNameTable(opts.distinctNames ?? 10_000, opts.seed ?? 1);
  const baseTs = opts.baseTimestamp ?? Math.floor(Date.now() / 1000) - 3600;
  const perConnection = Math.ceil(opts.points / opts.connections);
  return Array.from({ length: opts.connections }, (_, connection) =>
    buildConnectionLoad(names, connection, Math.max(0, Math.min(perConnection, opts.points - connection * perConnection)), baseTs, opts.linesPerChunk),
  );
}

export interface SendResult {
  readonly sent: number;
  /** hrtime in ms of the first write, once every connection is open: where the measured window starts. */
  readonly startedMs: number;
  readonly elapsedMs: number;
}

/** Opens a connection for each connection load that has lines, at most `atOnce` connecting at a time. */
async function openConnections(load: PreparedLoad, port: number, host: string, atOnce: number): Promise<Array<Socket | undefined>> {
  const sockets: Array<Socket | undefined> = new Array<Socket | undefined>(load.length);
  let next = 0;
  const opener = async (): Promise<void> => {
    for (let c = next++; c < load.length; c = next++) {
      if (load[c]!.chunkEnds.length === 0) continue;
      const socket = connect(port, host);
      await once(socket, 'connect');
      sockets[c] = socket;
    }
  };
  await Promise.all(Array.from({ length: Math.min(atOnce, load.length) }, opener));
  return sockets;
}

/**
 * A paced load whose connections take turns (spreadStarts): write w is chunk floor(w / N) of
 * connection w mod N, due w / N chunk intervals after the start. One timer drives every
 * connection's writes, so 10,000 connections cost the generator their writes and little else
 * (a timer and a promise per write cost it as much CPU as the program it measured). Writes do
 * not wait for 'drain': a trickle's chunks are small, and they are views of the prepared load.
 */
async function sendInTurns(load: PreparedLoad, sockets: ReadonlyArray<Socket | undefined>, perConnRate: number, started: bigint, onChunk: LoadOptions['onChunk']): Promise<number> {
  const n = load.length;
  const linesPerChunk = load[0]?.linesPerChunk ?? LINES_PER_CHUNK;
  const writes = n * Math.max(...load.map((c) => c.chunkEnds.length));
  const msPerTurn = (linesPerChunk / perConnRate) * 1000;
  let sent = 0;
  for (let w = 0; w < writes;) {
    const waitMs = (w / n) * msPerTurn - Number(process.hrtime.bigint() - started) / 1e6;
    // The next write falls due within a millisecond or more: a timer, never a busy wait.
    if (waitMs > 0) await new Promise((r) => setTimeout(r, Math.max(1, waitMs)));
    const nowMs = Number(process.hrtime.bigint() - started) / 1e6;
    for (; w < writes && (w / n) * msPerTurn <= nowMs; w++) {
      const connection = w % n;
      const k = Math.floor(w / n);
      const { lines, bytes, chunkEnds } = load[connection]!;
      const socket = sockets[connection];
      if (!socket || k >= chunkEnds.length) continue;
      const count = Math.min(linesPerChunk, lines - k * linesPerChunk);
      onChunk?.(connection, k * linesPerChunk, count, process.hrtime.bigint());
      socket.write(bytes.subarray(k === 0 ? 0 : chunkEnds[k - 1], chunkEnds[k]));
      sent += count;
    }
  }
  await Promise.all(
    sockets.map(async (socket) => {
      if (!socket) return;
      socket.end();
      await once(socket, 'close');
    }),
  );
  return sent;
}

/**
 * Sends a prepared load, one chunk per write, waiting for 'drain' when the socket asks to.
 * `whenConnected` is awaited once every connection is open, before the clock starts.
 */
export async function sendPrepared(
  load: PreparedLoad,
  opts: Pick<LoadOptions, 'host' | 'port' | 'ratePerSecond' | 'onChunk' | 'spreadStarts' | 'connectAtOnce'> & { whenConnected?: () => Promise<void> },
): Promise<SendResult> {
  const sockets = await openConnections(load, opts.port, opts.host ?? '127.0.0.1', opts.connectAtOnce ?? load.length);
  await opts.whenConnected?.();
  const perConnRate = opts.ratePerSecond ? opts.ratePerSecond / load.length : 0;
  const started = process.hrtime.bigint();
  const elapsed = (sent: number): SendResult => ({ sent, startedMs: Number(started) / 1e6, elapsedMs: Number(process.hrtime.bigint() - started) / 1e6 });
  if (opts.spreadStarts && perConnRate > 0) return elapsed(await sendInTurns(load, sockets, perConnRate, started, opts.onChunk));
  let sent = 0;
  await Promise.all(
    load.map(async ({ lines, bytes, chunkEnds, linesPerChunk }, connection) => {
      const socket = sockets[connection];
      if (!socket) return;
      let from = 0;
      for (let k = 0; k < chunkEnds.length; k++) {
        const seq = k * linesPerChunk;
        if (perConnRate > 0) {
          const dueNs = started + BigInt(Math.round((seq / perConnRate) * 1e9));
          const waitMs = Number(dueNs - process.hrtime.bigint()) / 1e6;
          if (waitMs > 1) await new Promise((r) => setTimeout(r, waitMs));
        }
        const to = chunkEnds[k]!;
        const count = Math.min(linesPerChunk, lines - seq);
        opts.onChunk?.(connection, seq, count, process.hrtime.bigint());
        if (!socket.write(bytes.subarray(from, to))) await once(socket, 'drain');
        sent += count;
        from = to;
      }
      socket.end();
      await once(socket, 'close');
    }),
  );
  return elapsed(sent);
}

export async function sendLoad(opts: LoadOptions): Promise<SendResult> {
  return sendPrepared(prepareLoad(opts), opts);
}
