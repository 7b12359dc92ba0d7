// Stopping the destinations: close() lets every writer write out its queue within the drain
// timeout, then cuts those still writing and logs what was left; destroy() cuts them at once.
import type { Destination } from './destination-registry.js';

export async function drainDestinations(
  all: readonly Destination[],
  opts: { readonly timeoutMs: number; readonly handedOverPoints: () => number; readonly log: (m: string) => void },
): Promise<void> {
  await Promise.all(all.map((d) => d.queue.close()));
  const drained = Promise.all(all.map((d) => d.writer.close()));
  const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), opts.timeoutMs).unref());
  if ((await Promise.race([drained, timeout])) === 'timeout') {
    const left = all.reduce((n, d) => n + d.queue.depth().points, 0) + opts.handedOverPoints();
    opts.log(`Shutdown: ${left} data points could not be written to their destinations in time`);
    for (const d of all) d.writer.destroy();
  }
}

export function destroyDestinations(all: Iterable<Destination>): void {
  for (const d of all) {
    d.queue.destroy();
    d.writer.destroy();
  }
}
