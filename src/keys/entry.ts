// What a key store holds for a name: the key itself (as the Go original wrote it) or, for keys
// made by polymur-keys, `sha256:<64 hex>` of it, so that a copy of the store does not hand out
// working keys. Keys are hex (ours: 40 characters; the original's: 24), so a `sha256:` entry can
// never be a plaintext key.
import { createHash } from 'node:crypto';

const HASHED = /^sha256:([0-9a-f]{64})$/;
const HASHED_PREFIX = 'sha256:';

/** The SHA-256 of a presented key, as the cache indexes it. */
export function keyDigest(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** The entry a store keeps for a new key. */
export function hashedEntry(key: string): string {
  return HASHED_PREFIX + keyDigest(key);
}

/**
 * The digest a stored entry authenticates, or why it authenticates nothing: an empty key (an empty
 * X-Polymur-Key header must never match) or a `sha256:` entry that is not 64 hex digits.
 */
export function entryDigest(entry: string): { digest: string } | { unusable: string } {
  if (entry.startsWith(HASHED_PREFIX)) {
    const m = HASHED.exec(entry);
    return m ? { digest: m[1]! } : { unusable: 'a sha256: entry must be 64 lower-case hex digits' };
  }
  if (entry === '') return { unusable: 'the key is empty' };
  return { digest: keyDigest(entry) };
}
