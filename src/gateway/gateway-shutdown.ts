// Stopping the gateway: close() refuses new requests (503), lets those in flight finish, then
// closes every connection; destroy() cuts them now.
import type { Stage } from '../lifecycle/stage.js';
import type { Listeners } from './listeners.js';
import type { RequestTracker } from './request-tracker.js';

export function createGatewayShutdown(listeners: Listeners, tracker: RequestTracker): Stage {
  const { servers, sockets } = listeners;
  let closed: Promise<void> | undefined;
  /** Every connection cut; whoever waits for the requests in flight is released. */
  const cutConnections = (): void => {
    tracker.startClosing();
    for (const s of sockets) s.destroy();
    tracker.release();
  };
  return {
    close() {
      closed ??= (async () => {
        tracker.startClosing();
        const stopped = Promise.all(servers.map(({ server }) => new Promise<void>((r) => server.close(() => r()))));
        for (const { server } of servers) server.closeIdleConnections();
        // Bounded by the caller (closeStages), which calls destroy() at its deadline.
        if (tracker.inFlight > 0) await tracker.idle();
        cutConnections();
        await stopped;
      })();
      return closed;
    },
    destroy() {
      for (const { server } of servers) if (server.listening) server.close();
      cutConnections();
    },
  };
}
