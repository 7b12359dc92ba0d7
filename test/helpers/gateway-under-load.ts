// A real gateway (file key store) with a real proxy streaming well-behaved points through it to a
// TCP sink while a test attacks the gateway; afterwards every well-behaved point must have arrived.
import { sendLoad } from '../../harness/load-generator.js';
import type { TestCert } from '../../harness/certs.js';
import { assertLoadDelivered } from './points.js';
import { startGateway, startProxy, writeKeyFile, type GatewayProcess, type ListenerProcess } from '../../harness/system.js';
import { startTcpSink, type TcpSink } from './tcp-sink.js';

export interface GatewayBench {
  readonly gateway: GatewayProcess & { cert: TestCert };
  readonly ca: Buffer;
  readonly sink: TcpSink;
  /** The proxy the well-behaved points go through. */
  readonly proxy: ListenerProcess;
  /** The well-behaved proxy's key (name `site1`). */
  readonly key: string;
}

const CONNECTIONS = 2;
const POINTS = 20_000;
export const GATEWAY_KEY = 'edge-key-0123456789abcdef0123456789';

/** Streams POINTS points at 5,000/s through proxy and gateway while `attack` runs; returns nothing, asserts all arrived. */
export async function underGatewayLoad(name: string, gatewayArgs: string[], attack: (b: GatewayBench) => Promise<string>, opts: { cert?: TestCert } = {}): Promise<void> {
  const sink = await startTcpSink();
  const gateway = await startGateway({
    keyFile: writeKeyFile({ site1: GATEWAY_KEY }),
    args: ['-destinations', sink.address, ...gatewayArgs],
    ...(opts.cert ? { cert: opts.cert } : {}),
  });
  const proxy = await startProxy({
    gateway: gateway.url,
    cert: gateway.cert,
    apiKey: GATEWAY_KEY,
    args: ['-workers', '2', '-flush-interval', '100ms', '-timeout', '5s', '-max-retry-delay', '1s', '-verbose=false'],
  });
  try {
    const sending = sendLoad({ port: proxy.port, connections: CONNECTIONS, points: POINTS, ratePerSecond: 5_000 });
    await sink.waitForLines(500);
    const figures = await attack({ gateway, ca: gateway.cert.cert, sink, proxy, key: GATEWAY_KEY });
    await sending;
    await assertLoadDelivered({ name, figures, sink, connections: CONNECTIONS, points: POINTS, program: 'gateway', pid: gateway.proc.pid!, maxRssMb: 250 });
  } finally {
    await proxy.stop();
    await gateway.stop();
    await sink.close();
  }
}
