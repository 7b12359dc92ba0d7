// A gateway whose address is known before it runs: a proxy is pointed at it while nothing listens
// there (the gateway is down, or not up yet), and start() brings the gateway up on that address.
import { makeCert, type TestCert } from '../../harness/certs.js';
import { freePort } from '../../harness/free-port.js';
import { startGateway, type GatewayProcess } from '../../harness/system.js';

export interface GatewayLater {
  readonly url: string;
  readonly port: number;
  readonly cert: TestCert;
  /** Starts the gateway on the port given out, with the arguments given. */
  start(): Promise<GatewayProcess>;
}

export async function gatewayLater(opts: { args: string[]; cert?: TestCert }): Promise<GatewayLater> {
  const port = await freePort();
  const cert = opts.cert ?? makeCert();
  return {
    url: `https://localhost:${port}`,
    port,
    cert,
    start: () => startGateway({ cert, args: [...opts.args, '-listen-https-port', String(port)] }),
  };
}
