// An exclusive lock between processes for a read-modify-write of one file (polymur-keys run
// concurrently): `<file>.lock`, created with O_EXCL and holding its owner's pid. A lock whose
// owner is gone (killed mid-write) is taken over; a live one is waited for, up to a deadline.
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { PolymurError } from '../errors.js';

/** A lock file still without a pid this long after it was made: its maker died before writing it. */
const UNWRITTEN_STALE_MS = 5000;
/** The takeover step takes a few milliseconds; a takeover marker this old was left by a dead process. */
const BREAK_STALE_MS = 5000;
const POLL_MS = 10;

export class LockTimeout extends PolymurError {
  readonly code = 'POLYMUR_ERR_LOCK_TIMEOUT';
  constructor(
    readonly lockPath: string,
    readonly holder: number | undefined,
    readonly waitedMs: number,
  ) {
    super(
      `${lockPath} is held by ${holder === undefined ? 'a process that has not written its pid' : `pid ${holder}`}; ` +
        `gave up after ${waitedMs} ms (if no polymur-keys is running, remove the lock file)`,
    );
  }
}

const isMissing = (err: unknown): boolean => (err as NodeJS.ErrnoException).code === 'ENOENT';

/** Removes the file; one already gone is fine (someone else removed it first). */
async function remove(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if (!isMissing(err)) throw err;
  }
}

/** Creates the file only if it does not exist, with our pid inside; false when it exists. */
async function create(path: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    await handle.writeFile(`${process.pid}\n`);
    await handle.close();
  } catch (err) {
    await handle.close().catch(() => undefined);
    await unlink(path).catch(() => undefined);
    throw err;
  }
  return true;
}

interface Holder {
  readonly pid: number | undefined;
  readonly ageMs: number;
}

async function holderOf(path: string): Promise<Holder | undefined> {
  try {
    const [text, st] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    const pid = Number.parseInt(text, 10);
    return { pid: Number.isSafeInteger(pid) && pid > 0 ? pid : undefined, ageMs: Date.now() - st.mtimeMs };
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

const stale = (h: Holder): boolean => (h.pid === undefined ? h.ageMs > UNWRITTEN_STALE_MS : !alive(h.pid));

/**
 * Removes a stale lock. Two processes that both saw it stale must not both remove it (the second
 * would remove the first one's new lock), so the removal happens under `<lock>.break`, and the lock
 * is checked again there.
 */
async function takeOver(lockPath: string): Promise<void> {
  const marker = `${lockPath}.break`;
  if (!(await create(marker))) {
    const other = await holderOf(marker);
    if (other && other.ageMs > BREAK_STALE_MS) await remove(marker);
    return;
  }
  try {
    const h = await holderOf(lockPath);
    if (h && stale(h)) await remove(lockPath);
  } finally {
    await unlink(marker).catch(() => undefined);
  }
}

/** Runs fn holding `<path>.lock`; LockTimeout when a live holder keeps it beyond waitMs. */
export async function withFileLock<T>(path: string, waitMs: number, fn: () => Promise<T>): Promise<T> {
  const lockPath = `${path}.lock`;
  const deadline = Date.now() + waitMs;
  while (!(await create(lockPath))) {
    const h = await holderOf(lockPath);
    const takeable = h !== undefined && stale(h);
    if (takeable) await takeOver(lockPath);
    if (Date.now() >= deadline) throw new LockTimeout(lockPath, h?.pid, waitMs);
    // Not unref()ed: the caller (a short-lived CLI) is waiting on this and nothing else.
    if (!takeable) await sleep(POLL_MS + Math.random() * POLL_MS);
  }
  try {
    return await fn();
  } finally {
    await unlink(lockPath).catch(() => undefined);
  }
}
