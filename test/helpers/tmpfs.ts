// A small tmpfs the test mounts (the tests run as root, and root ignores file modes: a full or a
// read-only file system is what really stops a write), filled up or remounted read-only on demand.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Tmpfs {
  readonly dir: string;
  /** Writes a filler file until the file system has no space left but `leaveBytes`. */
  fill(leaveBytes?: number): void;
  /** Deletes the filler: the space is free again. */
  free(): void;
  unmount(): void;
}

export function mountTmpfs(opts: { sizeBytes: number; readOnly?: boolean }): Tmpfs {
  const dir = mkdtempSync(join(tmpdir(), 'polymur-tmpfs-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${opts.sizeBytes}${opts.readOnly ? ',ro' : ''}`, 'tmpfs', dir]);
  const filler = join(dir, 'filler');
  return {
    dir,
    fill(leaveBytes = 0) {
      try {
        writeFileSync(filler, Buffer.alloc(opts.sizeBytes * 2));
      } catch (err) {
        if ((err as { code?: string }).code !== 'ENOSPC') throw err;
        truncateSync(filler, statSync(filler).size - leaveBytes);
        return;
      }
      throw new Error(`${dir}: ${opts.sizeBytes * 2} bytes fit in a tmpfs of ${opts.sizeBytes}`);
    },
    free() {
      unlinkSync(filler);
    },
    unmount() {
      execFileSync('umount', [dir]);
      rmSync(dir, { recursive: true });
    },
  };
}
