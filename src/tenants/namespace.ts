// A key's allowed prefixes (the record's `allow`), compared on the bytes of each metric name as
// sent (before -key-prefix adds the key's name): a name must start with one of them.

export interface Namespace {
  readonly prefixes: readonly string[];
  /** Whether buf[start, end) starts with one of the prefixes. */
  allows(buf: Buffer, start: number, end: number): boolean;
}

export function createNamespace(prefixes: readonly string[]): Namespace {
  const encoded = prefixes.map((p) => Buffer.from(p, 'utf8'));
  return {
    prefixes,
    allows(buf, start, end) {
      for (const p of encoded) {
        if (end - start < p.length) continue;
        let i = 0;
        while (i < p.length && buf[start + i] === p[i]) i++;
        if (i === p.length) return true;
      }
      return false;
    },
  };
}
