// The benchmark's load generator as its own process (fork with IPC), so sending competes with the
// programs under test only for CPU, not for an event loop. The whole load is built before the
// measured window; the CPU and the start time reported cover the sending only. Records when each
// chunk was handed to the socket, for latency. With `handshake`, the measured window starts once
// every connection is open (thousands of connections take seconds to open).
import { writeFileSync } from 'node:fs';
import { prepareLoad, sendPrepared, type LoadOptions } from '../harness/load-generator.js';

interface Job extends Omit<LoadOptions, 'onChunk'> {
  readonly chunkTimesFile?: string;
  /** Once every connection is open: tell the parent ('connected') and wait for its 'go' before sending. */
  readonly handshake?: boolean;
}

/** Tells the parent every connection is open, and waits for its go. */
async function handshake(): Promise<void> {
  const go = new Promise<void>((resolve) => process.once('message', () => resolve()));
  process.send!({ type: 'connected' });
  await go;
}

process.once('message', (job: Job) => {
  const perConnection = Math.ceil(job.points / job.connections);
  const sendTimes = job.chunkTimesFile ? new Float64Array(job.connections * perConnection) : undefined;
  const load = prepareLoad(job);
  let cpuBefore = process.cpuUsage();
  sendPrepared(load, {
    ...job,
    // The CPU counted is the sending's: opening the connections is left out, as in the programs' figures.
    whenConnected: async () => {
      if (job.handshake) await handshake();
      cpuBefore = process.cpuUsage();
    },
    ...(sendTimes
      ? {
          onChunk: (connection: number, firstSeq: number, count: number, at: bigint) => {
            sendTimes.fill(Number(at) / 1e6, connection * perConnection + firstSeq, connection * perConnection + firstSeq + count);
          },
        }
      : {}),
  }).then(
    ({ sent, startedMs, elapsedMs }) => {
      const cpu = process.cpuUsage(cpuBefore);
      if (sendTimes && job.chunkTimesFile) writeFileSync(job.chunkTimesFile, Buffer.from(sendTimes.buffer));
      process.send!({ type: 'done', sent, elapsedMs, startMs: startedMs, cpuSeconds: (cpu.user + cpu.system) / 1e6 }, () => process.exit(0));
    },
    (err: unknown) => {
      process.send!({ type: 'error', message: String(err) }, () => process.exit(1));
    },
  );
});
