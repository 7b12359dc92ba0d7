// The writer's wait at -max-unread-bytes on an injected clock and scripted kernel counts: it waits
// while our send queue plus the peer's receive queue are at the bound, ends once the peer read below
// it, calls a peer whose count did not move for the stall time stuck, and never waits on a peer whose
// receive queue cannot be seen (another host).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { UnreadBytes } from '../../src/net/send-queue.js';
import { untilUnreadBelowCap } from '../../src/route/unread-cap.js';

const CAP = 1000;

/** Counts that follow `script` look by look (the last one repeats), on a clock each pause advances. */
function scripted(script: Array<[sendQueue: number, peerUnread: number | undefined]>) {
  let t = 0;
  let looks = 0;
  return {
    unread: (): UnreadBytes => {
      const [sendQueue, peerUnread] = script[Math.min(looks++, script.length - 1)]!;
      return { readStartedAt: t, sendQueue, peerUnread, peerListedFirst: false };
    },
    pause: (ms: number): Promise<Error | undefined> => {
      t += ms;
      return Promise.resolve(undefined);
    },
    now: () => t,
    looks: () => looks,
  };
}

test('unread cap: below the bound or a peer that cannot be seen, no wait; at it, a wait until the peer reads below it', async () => {
  const below = scripted([[400, 500]]);
  assert.deepEqual(await untilUnreadBelowCap({ ...below, capBytes: CAP, stallMs: 100 }), { kind: 'room' });
  assert.equal(below.looks(), 1);

  const unseen = scripted([[5000, undefined]]);
  assert.deepEqual(await untilUnreadBelowCap({ ...unseen, capBytes: CAP, stallMs: 100 }), { kind: 'room' });
  assert.equal(unseen.looks(), 1);

  // Our send queue moving into its receive queue is no reading: the sum is what counts.
  const reads = scripted([
    [600, 600],
    [200, 1000],
    [0, 1200],
    [0, 1100],
    [0, 999],
  ]);
  assert.deepEqual(await untilUnreadBelowCap({ ...reads, capBytes: CAP, stallMs: 10_000 }), { kind: 'room' });
  assert.equal(reads.looks(), 5);
});

test('unread cap: a peer whose count does not move for the stall time is stuck; a broken connection ends the wait', async () => {
  const stopped = scripted([
    [0, 1500],
    [0, 1400],
  ]);
  const result = await untilUnreadBelowCap({ ...stopped, capBytes: CAP, stallMs: 100 });
  assert.equal(result.kind, 'stalled');
  assert.ok(result.kind === 'stalled' && result.stalledMs >= 100 && result.stalledMs < 120, JSON.stringify(result));

  const err = new Error('connection closed');
  const broken = scripted([[0, 1500]]);
  assert.deepEqual(await untilUnreadBelowCap({ ...broken, pause: () => Promise.resolve(err), capBytes: CAP, stallMs: 100 }), { kind: 'broken', err });
});
