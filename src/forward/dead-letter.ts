// The dead-letter file: batches a gateway refused as malformed or too large, kept for people to
// read (a `# <time> rejected … : N data points` head, then the lines as they were read). It is
// checked at start, appended with mode 0600 and capped in size: past -dead-letter-max-bytes the
// file becomes `<path>.1`, and what that older file held is discarded and counted. An append that
// fails leaves the file as it was and throws, so the caller keeps the batch and tries again.
import { accessSync, constants, createReadStream, statSync } from 'node:fs';
import { open, rename, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PolymurError } from '../errors.js';
import type { Registry } from '../observe/metrics.js';

/** An append that did not reach the disk; the file is as it was before. */
export class DeadLetterWriteError extends PolymurError {
  readonly code = 'POLYMUR_ERR_DEAD_LETTER_WRITE';
  /** The system's code (ENOSPC, EACCES, …). */
  constructor(
    readonly path: string,
    readonly errno: string,
    message: string,
  ) {
    super(`cannot write the dead-letter file ${path}: ${message}`);
  }
}

export interface DeadLetter {
  readonly path: string;
  /** Appends one rejected batch (its lines uncompressed); throws DeadLetterWriteError. */
  append(lines: Buffer, points: number, reason: string): Promise<void>;
}

function errorText(err: unknown): { code: string; message: string } {
  const e = err as { code?: unknown; message?: unknown };
  return { code: typeof e.code === 'string' ? e.code : 'error', message: typeof e.message === 'string' ? e.message : String(err) };
}

/**
 * Why the dead-letter file could not be written, checked once at start: its directory must exist
 * and be writable, and the file, when present, be a writable regular file. Undefined when fine.
 */
export function deadLetterProblem(path: string): string | undefined {
  const dir = dirname(path);
  try {
    if (!statSync(dir).isDirectory()) return `${dir} is not a directory`;
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (err) {
    const { code } = errorText(err);
    return code === 'ENOENT' ? `directory ${dir} does not exist` : `directory ${dir} is not writable (${code})`;
  }
  let file;
  try {
    file = statSync(path);
  } catch (err) {
    const { code } = errorText(err);
    return code === 'ENOENT' ? undefined : `cannot stat the file (${code})`;
  }
  if (!file.isFile()) return 'not a regular file';
  try {
    accessSync(path, constants.W_OK);
  } catch (err) {
    return `the file is not writable (${errorText(err).code})`;
  }
  return undefined;
}

/** Data points in a dead-letter file: its lines, less the head of each batch. */
async function pointsIn(path: string): Promise<number> {
  let points = 0;
  let atLineStart = true;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    for (let start = 0; start < chunk.length;) {
      if (atLineStart && chunk[start] !== 0x23 /* '#' */) points++;
      const nl = chunk.indexOf(0x0a, start);
      if (nl === -1) {
        atLineStart = false;
        break;
      }
      atLineStart = true;
      start = nl + 1;
    }
  }
  return points;
}

export function createDeadLetter(opts: { path: string; maxBytes: number; metrics: Registry; log: (m: string) => void }): DeadLetter {
  const { path } = opts;
  const older = `${path}.1`;
  const m = {
    points: opts.metrics.counter('polymur_dead_letter_points_total', 'Data points written to the dead-letter file'),
    discardedPoints: opts.metrics.counter('polymur_dead_letter_discarded_points_total', 'Data points of old dead-letter files deleted by rotation (-dead-letter-max-bytes)'),
    discardedBytes: opts.metrics.counter('polymur_dead_letter_discarded_bytes_total', 'Bytes of old dead-letter files deleted by rotation (-dead-letter-max-bytes)'),
  };
  for (const c of Object.values(m)) c.inc(0);
  // Appends one after another: rotation reads the file's size and renames it.
  let last: Promise<void> = Promise.resolve();

  /** Moves the file to `<path>.1`, counting what the previous `<path>.1` held. */
  const rotate = async (): Promise<void> => {
    const previous = await stat(older).catch(() => undefined);
    if (previous) {
      const points = await pointsIn(older);
      m.discardedPoints.inc(points);
      m.discardedBytes.inc(previous.size);
      opts.log(`Dead-letter file over -dead-letter-max-bytes ${opts.maxBytes}: ${older} (${points} data points, ${previous.size} bytes) deleted, ${path} moved there`);
    }
    await rename(path, older);
  };

  const appendNow = async (record: Buffer): Promise<void> => {
    const size = (await stat(path).catch(() => undefined))?.size ?? 0;
    // A batch larger than the cap still gets a file of its own.
    if (size > 0 && size + record.length > opts.maxBytes) await rotate();
    const file = await open(path, 'a', 0o600);
    const before = (await file.stat()).size;
    try {
      await file.writeFile(record);
      await file.datasync();
    } catch (err) {
      // A short write (the disk filled up) must not leave half a batch that the retry repeats.
      await file.truncate(before).catch(() => {});
      throw err;
    } finally {
      await file.close();
    }
  };

  return {
    path,
    append(lines, points, reason) {
      const head = `# ${new Date().toISOString()} rejected by the gateway (${reason}): ${points} data points\n`;
      const done = last.then(() => appendNow(Buffer.concat([Buffer.from(head), lines])));
      last = done.catch(() => {});
      return done.then(
        () => m.points.inc(points),
        (err: unknown) => {
          const { code, message } = errorText(err);
          throw new DeadLetterWriteError(path, code, message);
        },
      );
    },
  };
}
