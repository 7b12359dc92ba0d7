// The write timeout and the resend window on an injected clock: a stall is "no byte accepted for
// the timeout while data waits", nothing else; the window keeps the last stretch before the
// newest write, bounded in time and bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createResendWindow } from '../../src/route/resend-window.js';
import { createWriteWatchdog } from '../../src/route/write-watchdog.js';

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

test('write watchdog: fires once per stall, only while data waits, and progress restarts the count', () => {
  const c = clock();
  const stalls: number[] = [];
  // The watchdog's own timer, run by hand: each tick() is one of its looks.
  let tick = (): void => assert.fail('no timer set');
  let cleared = false;
  const w = createWriteWatchdog({
    timeoutMs: 1000,
    onStuck: (ms) => stalls.push(ms),
    now: c.now,
    checkEveryMs: 100,
    setInterval: (fn, ms) => {
      assert.equal(ms, 100);
      tick = fn;
      return {};
    },
    clearInterval: () => (cleared = true),
  });
  // Idle for long: a quiet connection is not a stall.
  c.advance(60_000);
  tick();
  assert.deepEqual(stalls, []);
  // Busy, the socket keeps accepting pieces: no stall however long the write takes.
  w.busy();
  for (let i = 0; i < 10; i++) {
    c.advance(900);
    w.progress();
    tick();
  }
  assert.deepEqual(stalls, []);
  // No byte accepted for 999 ms: not yet; for 1000 ms: a stall, reported once.
  c.advance(999);
  tick();
  assert.deepEqual(stalls, []);
  c.advance(1);
  tick();
  c.advance(5000);
  tick();
  assert.deepEqual(stalls, [1000]);
  // The next write starts a new count.
  w.idle();
  c.advance(10_000);
  tick();
  w.busy();
  c.advance(500);
  tick();
  assert.deepEqual(stalls, [1000]);
  c.advance(700);
  tick();
  assert.deepEqual(stalls, [1000, 1200]);
  w.stop();
  assert.ok(cleared, 'stop() clears the timer');
});

test('write watchdog, idle: bytes the kernel holds unacknowledged that do not move for the timeout are a stall; any change of them is progress, an empty send queue never a stall', () => {
  const c = clock();
  const stalls: number[] = [];
  let unacked: number | undefined;
  let tick = (): void => assert.fail('no timer set');
  createWriteWatchdog({
    timeoutMs: 1000,
    onStuck: (ms) => stalls.push(ms),
    unacked: () => unacked,
    now: c.now,
    checkEveryMs: 100,
    setInterval: (fn) => {
      tick = fn;
      return {};
    },
  });
  // Unknown, then an empty send queue, for long: nothing.
  for (const value of [undefined, 0]) {
    unacked = value;
    for (let i = 0; i < 30; i++) {
      c.advance(100);
      tick();
    }
  }
  assert.deepEqual(stalls, []);
  // Bytes that drain (a peer that reads, slowly): progress each time they change.
  for (let i = 0; i < 30; i++) {
    unacked = 100_000 - i * 1000;
    c.advance(500);
    tick();
  }
  assert.deepEqual(stalls, []);
  // They stop moving: a stall once the timeout passed since the last change, reported once.
  c.advance(900);
  tick();
  assert.deepEqual(stalls, []);
  c.advance(100);
  tick();
  c.advance(5000);
  tick();
  assert.deepEqual(stalls, [1000]);
});

const batch = (points: number, bytes: number) => ({ data: Buffer.alloc(bytes, 0x61), points });

test('resend window: keeps what the connection may hold unread, at most maxBytes (what it lets go of before is reported); a died or stuck peer gets back all of it, however old', () => {
  const cases: Array<{
    name: string;
    enabled: boolean;
    maxBytes: number;
    /** What the connection may hold unread; Infinity when absent. */
    cover?: number;
    writes: Array<[atMs: number, bytes: number]>;
    /** What comes back when the peer died or stopped reading. */
    unread: number[];
    /** Let go of at maxBytes while still within the cover; none when absent. */
    uncovered?: number[];
  }> = [
    {
      name: 'all recent',
      enabled: true,
      maxBytes: 1 << 20,
      writes: [
        [0, 10],
        [300, 20],
        [900, 30],
      ],
      unread: [10, 20, 30],
    },
    {
      name: 'older than a second: as likely unread (a slow reader), so it comes back too',
      enabled: true,
      maxBytes: 1 << 20,
      writes: [
        [0, 10],
        [600, 20],
        [1500, 30],
      ],
      unread: [10, 20, 30],
    },
    {
      name: 'exactly the age',
      enabled: true,
      maxBytes: 1 << 20,
      writes: [
        [0, 10],
        [1000, 20],
      ],
      unread: [10, 20],
    },
    {
      name: 'bytes bound drops the oldest',
      enabled: true,
      maxBytes: 50,
      writes: [
        [0, 10],
        [1, 20],
        [2, 30],
      ],
      unread: [20, 30],
      uncovered: [10],
    },
    {
      name: 'what was written after a batch beyond the cover was read: let go of, not reported',
      enabled: true,
      maxBytes: 1 << 20,
      cover: 50,
      writes: [
        [0, 10],
        [1, 20],
        [2, 30],
        [3, 40],
      ],
      unread: [30, 40],
    },
    {
      name: 'exactly the cover written after it',
      enabled: true,
      maxBytes: 1 << 20,
      cover: 50,
      writes: [
        [0, 10],
        [1, 50],
      ],
      unread: [50],
    },
    {
      name: 'a bound below the cover: what it lets go of is reported',
      enabled: true,
      maxBytes: 50,
      cover: 100,
      writes: [
        [0, 10],
        [1, 20],
        [2, 30],
      ],
      unread: [20, 30],
      uncovered: [10],
    },
    {
      name: 'a batch bigger than the bound is not kept',
      enabled: true,
      maxBytes: 50,
      writes: [
        [0, 10],
        [1, 60],
      ],
      unread: [],
      uncovered: [10, 60],
    },
    {
      name: '-resend-window 0: off',
      enabled: false,
      maxBytes: 1 << 20,
      writes: [
        [0, 10],
        [0, 20],
      ],
      unread: [],
    },
    { name: 'bytes 0: off', enabled: true, maxBytes: 0, writes: [[0, 10]], unread: [] },
  ];
  for (const c of cases) {
    const uncovered: number[] = [];
    const w = createResendWindow({ enabled: c.enabled, maxBytes: c.maxBytes, coverBytes: c.cover ?? Infinity, onUncovered: (b) => uncovered.push(b.data.length) });
    for (const [, bytes] of c.writes) w.add(batch(bytes / 10, bytes));
    assert.deepEqual(uncovered, c.uncovered ?? [], `${c.name}: reported as let go of unread`);
    assert.equal(
      w.points,
      c.unread.reduce((n, b) => n + b / 10, 0),
      `${c.name}: points held`,
    );
    assert.deepEqual(
      w.drain().map((b) => b.data.length),
      c.unread,
      c.name,
    );
    assert.deepEqual(w.drain(), [], `${c.name}: drained once`);
    assert.equal(w.points, 0);
  }
});
