// Fuzzing the pickle decoder for a bounded time: random bytes, frames of random opcodes carbon's
// senders use (they reach deep into the stack machine), and mutations of frames Python made. Every
// input must end in a result or a PickleRefusedError (no other exception), soon (no hang), with its
// plaintext under the limit and the heap not growing with the inputs seen (bounded memory).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePickle, PickleRefusedError } from '../../src/protocol/pickle.js';
import { carbonFrames } from '../helpers/carbon-pickle.js';

const FUZZ_MS = 4_000;
const SEED = Number(process.env.POLYMUR_FUZZ_SEED ?? Date.now() % 2 ** 31);

/** xorshift32: a failure is reproduced with POLYMUR_FUZZ_SEED. */
function random(seed: number): () => number {
  let x = seed || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** Opcodes the decoder runs, with arguments of their size. */
const OPCODES: ReadonlyArray<readonly [number, number]> = [
  [0x2e, 0],
  [0x28, 0],
  [0x5d, 0],
  [0x61, 0],
  [0x65, 0],
  [0x86, 0],
  [0x71, 1],
  [0x72, 4],
  [0x68, 1],
  [0x6a, 4],
  [0x4a, 4],
  [0x4b, 1],
  [0x4d, 2],
  [0x8a, 1],
  [0x47, 8],
  [0x58, 4],
  [0x8c, 1],
  [0x54, 4],
  [0x55, 1],
];

test(`fuzz: random and mutated frames for ${FUZZ_MS / 1000} s: no crash, no hang, bounded output and memory (seed ${SEED})`, async () => {
  const next = random(SEED);
  const int = (n: number): number => Math.floor(next() * n);
  const seeds = (
    await carbonFrames({
      relay: "[('carbon.agents.a.%d' % (i % 7), (1700000000 + i, i * 0.37)) for i in range(200)]",
      mixed: "[('a', (1, 2**70)), ('b', (-1, -0.0)), ('a', (1700000000.5, 60000)), ('c.é', (0, 200))]",
      one: "[('one', (1700000000, 1.0))]",
    })
  ).map((f) => f.frame);

  const randomBytes = (): Buffer => Buffer.from(Array.from({ length: int(300) }, () => int(256)));
  const randomOpcodes = (): Buffer => {
    const parts: number[] = [0x80, 2];
    for (let i = int(200); i > 0; i--) {
      const [op, args] = OPCODES[int(OPCODES.length)]!;
      parts.push(op);
      // Small arguments mostly (lengths and memo indexes that fit), sometimes any.
      for (let a = 0; a < args; a++) parts.push(a === 0 && next() < 0.8 ? int(4) : int(256));
      if ((op === 0x8c || op === 0x55) && parts[parts.length - 1]! < 4) for (let s = parts[parts.length - 1]!; s > 0; s--) parts.push(0x61 + int(26));
    }
    return Buffer.from(parts);
  };
  const mutate = (frame: Buffer): Buffer => {
    const out = Buffer.from(frame);
    switch (int(5)) {
      case 0:
        for (let i = 1 + int(4); i > 0; i--) out[int(out.length)] = int(256);
        return out;
      case 1:
        return out.subarray(0, int(out.length));
      case 2: {
        const at = int(out.length);
        return Buffer.concat([out.subarray(0, at), out.subarray(int(out.length)), out.subarray(at)]);
      }
      case 3: {
        const at = int(out.length);
        return Buffer.concat([out.subarray(0, at), out.subarray(at + 1 + int(20))]);
      }
      default: {
        const [op] = OPCODES[int(OPCODES.length)]!;
        const at = int(out.length);
        return Buffer.concat([out.subarray(0, at), Buffer.from([op, int(4)]), out.subarray(at)]);
      }
    }
  };

  const counts = { inputs: 0, decoded: 0, points: 0, refused: new Map<string, number>() };
  let slowest = 0;
  const heapAt = (): number => {
    global.gc?.();
    return process.memoryUsage().heapUsed;
  };
  let heapAfterWarmup = 0;
  const started = Date.now();
  while (Date.now() - started < FUZZ_MS) {
    const kind = counts.inputs % 3;
    const input = kind === 0 ? randomBytes() : kind === 1 ? randomOpcodes() : mutate(seeds[int(seeds.length)]!);
    const maxOutputBytes = 16 * Math.max(input.length, 64);
    const t = performance.now();
    try {
      const { data, points } = decodePickle(input, { maxOutputBytes });
      assert.ok(data.length <= maxOutputBytes);
      assert.equal(data.length === 0 ? 0 : data.toString('latin1').split('\n').length - 1, points, 'one LF a point');
      counts.decoded++;
      counts.points += points;
    } catch (err) {
      if (!(err instanceof PickleRefusedError)) throw new Error(`seed ${SEED}, input ${input.toString('hex')}: ${(err as Error).stack}`);
      counts.refused.set(err.reason, (counts.refused.get(err.reason) ?? 0) + 1);
    }
    slowest = Math.max(slowest, performance.now() - t);
    if (++counts.inputs === 2_000) heapAfterWarmup = heapAt();
  }
  const heapGrowthMb = (heapAt() - heapAfterWarmup) / 2 ** 20;
  const refused = [...counts.refused].map(([r, n]) => `${r} ${n}`).join(', ');
  console.log(
    `# ${counts.inputs} inputs: ${counts.decoded} decoded (${counts.points} points), refused: ${refused}; slowest ${slowest.toFixed(1)} ms; heap after warm-up ${heapGrowthMb.toFixed(1)} MB`,
  );
  assert.ok(counts.inputs > 5_000, 'enough inputs tried');
  assert.ok(counts.decoded > 0 && counts.refused.size >= 4, 'the fuzzer reaches both outcomes and several refusals');
  assert.ok(slowest < 1_000, `one input took ${slowest.toFixed(0)} ms`);
  assert.ok(heapGrowthMb < 32, `the heap grew ${heapGrowthMb.toFixed(1)} MB over the run`);
});
