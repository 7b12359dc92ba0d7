// closeStages (src/lifecycle/stage.ts) on a clock moved by hand: stages closed strictly in order,
// a stage that never drains destroyed at the deadline with every later one (never closed), a
// failing close destroyed without stopping the others, a throwing destroy() not stopping the
// rest, and each stage closed or destroyed exactly once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { setImmediate as tick } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createBatcher } from '../../src/batch/batcher.js';
import { createMemoryQueue } from '../../src/batch/memory-queue.js';
import { closeStages, type NamedStage, type Stage } from '../../src/lifecycle/stage.js';
import { FakeClock } from '../helpers/fake-clock.js';

/** A stage whose close() resolves (or rejects) only when the test says so; every call recorded. */
interface ProbeStage extends Stage {
  readonly calls: string[];
  finish(): void;
  fail(err: Error): void;
}

function probe(name: string, journal: string[], opts: { destroyThrows?: boolean } = {}): ProbeStage {
  let settle: { resolve: () => void; reject: (e: Error) => void } | undefined;
  let closing: Promise<void> | undefined;
  const calls: string[] = [];
  return {
    calls,
    close() {
      calls.push('close');
      journal.push(`${name}.close`);
      closing ??= new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
      return closing;
    },
    destroy() {
      calls.push('destroy');
      journal.push(`${name}.destroy`);
      if (opts.destroyThrows) throw new Error(`${name} cannot be destroyed`);
    },
    finish: () => settle?.resolve(),
    fail: (err) => settle?.reject(err),
  };
}

/** Lets the promise chain inside closeStages move on. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await tick();
}

test('stages close one after another, each only once the one before it has drained', async () => {
  const clock = new FakeClock();
  const journal: string[] = [];
  const [a, b, c] = ['a', 'b', 'c'].map((n) => probe(n, journal)) as [ProbeStage, ProbeStage, ProbeStage];
  const stages: NamedStage[] = [
    ['a', a],
    ['b', b],
    ['c', c],
  ];
  const done = closeStages(stages, 10_000, () => undefined, clock);
  await settle();
  assert.deepEqual(journal, ['a.close'], 'b waits for a');
  a.finish();
  await settle();
  assert.deepEqual(journal, ['a.close', 'b.close']);
  b.finish();
  await settle();
  c.finish();
  const report = await done;
  assert.deepEqual(journal, ['a.close', 'b.close', 'c.close']);
  assert.deepEqual(report, { closed: ['a', 'b', 'c'], destroyed: [], timedOut: false });
  assert.equal(clock.pending(), 0, 'the deadline timer is cleared');
});

test('a stage that never drains is destroyed at the deadline, with every later one, which is never closed', async () => {
  const clock = new FakeClock();
  const journal: string[] = [];
  const logs: string[] = [];
  const [a, stuck, c] = ['a', 'stuck', 'c'].map((n) => probe(n, journal)) as [ProbeStage, ProbeStage, ProbeStage];
  let finished = false;
  const done = closeStages(
    [
      ['a', a],
      ['stuck', stuck],
      ['c', c],
    ],
    2000,
    (m) => logs.push(m),
    clock,
  ).then((r) => {
    finished = true;
    return r;
  });
  a.finish();
  await settle();
  clock.advance(1999);
  await settle();
  assert.equal(finished, false, 'still waiting 1 ms before the deadline');
  assert.deepEqual(journal, ['a.close', 'stuck.close']);
  clock.advance(1);
  const report = await done;
  assert.deepEqual(journal, ['a.close', 'stuck.close', 'stuck.destroy', 'c.destroy']);
  assert.deepEqual(report, { closed: ['a'], destroyed: ['stuck', 'c'], timedOut: true });
  assert.deepEqual(a.calls, ['close'], 'a drained stage is not destroyed');
  assert.match(logs.join('\n'), /-shutdown-timeout of 2s passed; stopping stuck, c now/);
});

test('a failing close destroys that stage and the shutdown goes on with the next', async () => {
  const clock = new FakeClock();
  const journal: string[] = [];
  const logs: string[] = [];
  const [bad, next] = ['bad', 'next'].map((n) => probe(n, journal)) as [ProbeStage, ProbeStage];
  const done = closeStages(
    [
      ['bad', bad],
      ['next', next],
    ],
    5000,
    (m) => logs.push(m),
    clock,
  );
  bad.fail(new Error('disk gone'));
  await settle();
  next.finish();
  const report = await done;
  assert.deepEqual(journal, ['bad.close', 'bad.destroy', 'next.close']);
  assert.deepEqual(report, { closed: ['next'], destroyed: ['bad'], timedOut: false });
  assert.match(logs.join('\n'), /closing bad failed: disk gone/);
});

test('a destroy() that throws does not keep the later stages from being destroyed', async () => {
  const clock = new FakeClock();
  const journal: string[] = [];
  const logs: string[] = [];
  const first = probe('first', journal, { destroyThrows: true });
  const second = probe('second', journal);
  const done = closeStages(
    [
      ['first', first],
      ['second', second],
    ],
    100,
    (m) => logs.push(m),
    clock,
  );
  await settle();
  clock.advance(100);
  const report = await done;
  assert.deepEqual(journal, ['first.close', 'first.destroy', 'second.destroy']);
  assert.deepEqual(report.destroyed, ['first', 'second']);
  assert.match(logs.join('\n'), /destroying first failed: first cannot be destroyed/);
});

test('close() twice is one drain; destroy() during it ends it (the batcher, a real stage)', async () => {
  const clock = new FakeClock();
  // A queue of one batch, already full: the batcher's last batch cannot be handed on.
  const queue = createMemoryQueue({ maxBatches: 1, maxBytes: 1 << 20, policy: 'block' });
  assert.equal(queue.offer({ data: Buffer.from('held 1 1\n'), points: 1 }), true);
  const batcher = createBatcher({ batchSize: 100, flushIntervalMs: 1000, sink: queue, timers: clock });
  batcher.add(Buffer.from('a 1 1\nb 2 1\n'), 2);
  const first = batcher.close();
  assert.equal(batcher.close(), first, 'the second call returns the same promise');
  let closed = false;
  void first.then(() => (closed = true));
  await settle();
  assert.equal(closed, false, 'waits while the sink refuses');
  assert.equal(batcher.held(), 2);
  batcher.destroy();
  await first;
  assert.equal(batcher.held(), 2, 'what it held is still counted after destroy()');
  assert.equal(clock.pending(), 0, 'no timer left');
  // The queue has room again: a destroyed batcher offers nothing more.
  (await queue.take())!.ack();
  await settle();
  assert.equal(queue.depth().points, 0);
});

test('the deadline keeps the process alive: a close() waiting on nothing still ends in destroy(), not a silent exit', () => {
  const stageModule = fileURLToPath(new URL('../../src/lifecycle/stage.js', import.meta.url));
  // Nothing else holds the event loop open: only the deadline can.
  const script = `
    const { closeStages } = await import(${JSON.stringify(stageModule)});
    const stuck = { close: () => new Promise(() => {}), destroy: () => console.log('destroyed') };
    const report = await closeStages([['stuck', stuck]], 200, () => undefined);
    console.log(JSON.stringify(report));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.stdout, 'destroyed\n{"closed":[],"destroyed":["stuck"],"timedOut":true}\n', r.stderr);
});
