// Every error Polymur raises, by its stable code (as undici's UND_ERR_* and fastify's FST_ERR_*).
// A code never changes meaning once released: operators grep logs for it and metrics carry it.
// Each entry says what happened and what to do; README.md "Error codes" is the same table.
// A new error class extends PolymurError with `readonly code = 'POLYMUR_ERR_…'`, which compiles
// only once the code has its entry here.

export const ERROR_CODES = {
  // Start-up: the program exits 2, naming the flag (Go's flag package does the same).
  POLYMUR_ERR_FLAG: 'A flag is unknown, lacks its value, or its value does not parse or is out of range. Correct the flag named in the message.',
  POLYMUR_ERR_CONFIG: 'Flags that do not go together, or a value that is wrong in context (no gateway, no destinations, -cert without -key). Correct the flags named.',
  POLYMUR_ERR_ADDRESS: 'A host:port or host is not an address (bad host name, port out of 0-65535). Correct the address flag or destination.',
  POLYMUR_ERR_DESTINATION: 'A destination host:port[:instance] does not parse, or names a destination twice. Correct -destinations, -destinations-file or the API request.',
  POLYMUR_ERR_DESTINATIONS_FILE: 'The -destinations-file cannot be read or a line of it is not a destination. Fix the file (its line is named) or its permissions.',
  POLYMUR_ERR_API_KEY_FILE: 'The -api-key-file cannot be read, is open to others, or holds no key. chmod 600 it and write one key into it.',
  POLYMUR_ERR_TLS_FILE: 'A certificate, key or CA file (-cert, -key, -client-ca) cannot be read or does not parse as PEM. Check the path and the file.',
  POLYMUR_ERR_TRUSTED_PROXIES: 'An entry of -trusted-proxies is not an IP address or CIDR. Correct it.',
  POLYMUR_ERR_EGRESS_PROXY: 'The forward proxy (-http-proxy, HTTPS_PROXY, HTTP_PROXY) is not an http:// URL with a host. Correct it, or set -http-proxy none.',
  // Running: the program goes on; the failure is counted and logged (rate-limited).
  POLYMUR_ERR_RELOAD: 'A part of a SIGHUP reload failed; the program keeps what it had. Fix what the message names and send SIGHUP again.',
  POLYMUR_ERR_KEY_STORE: 'The API key store (-key-store) cannot be read or written, or holds an entry that does not parse. The gateway keeps the keys it knew; check the store.',
  POLYMUR_ERR_KEY_STORE_MISSING: 'The key store does not exist yet: every key is refused. Create a key with polymur-keys create NAME.',
  POLYMUR_ERR_KEY_COPY:
    'The last-known-good copy of the keys in the state directory cannot be read or written. The gateway goes on with the keys it has; check the state directory (-state-dir) and its permissions.',
  POLYMUR_ERR_RECORD_UNUSABLE: "A name's stored value in the key store does not parse as a key or a key record, so polymur-keys will not change it. Fix or delete the entry named.",
  POLYMUR_ERR_RECORD_CONFLICT: 'Other writers changed the same name in the key store under every attempt of polymur-keys. Run the command again.',
  POLYMUR_ERR_LOCK_TIMEOUT: "Another polymur-keys held the key file's lock for too long. Retry; if the holder (pid named) is gone, remove the lock file named.",
  POLYMUR_ERR_KEYS_USAGE: 'polymur-keys was called with a command or arguments it does not take. See polymur-keys -h.',
  POLYMUR_ERR_KEYS_REFUSED: 'polymur-keys refused a change (the name exists, does not exist, or is not valid). The message says which.',
  POLYMUR_ERR_PROXY_TUNNEL_REFUSED:
    "The forward proxy answered CONNECT with another status than 200 (policy, credentials, no route). The batch is kept and retried; check the proxy's rules and credentials.",
  POLYMUR_ERR_DEAD_LETTER_WRITE:
    'A batch the gateway rejected could not be appended to the -dead-letter file (disk full, permissions). The batch is kept and written again; free the disk or fix the file.',
  POLYMUR_ERR_SPOOL_SHORT_WRITE:
    'The disk took only part of a spool write (usually a full disk). The records stay in memory and the write is retried; free space under -spool-dir.',
  POLYMUR_ERR_SPOOL_DAMAGED_RECORD:
    'A spooled record no longer checks out when read back (disk damage, a file changed by hand). Its data points are counted as lost and passed over.',
  POLYMUR_ERR_PICKLE_REFUSED:
    "A carbon pickle frame (-listen-pickle) is too large or holds what carbon's senders never send (a GLOBAL, a REDUCE, a memo bomb). The frame is refused, counted by reason and the connection closed; check the sender.",
  POLYMUR_ERR_RULE_FILE:
    'A rule file (-rewrite-rules, -blacklist, -whitelist) cannot be read or a line of it does not parse. At start the program exits 2; on a reload the rules in use stay. Fix the file and line named.',
  POLYMUR_ERR_RULE_REGEX: 'A pattern of a rule file is not a Python regular expression, or has no faithful JavaScript form (the construct is named). Rewrite the pattern.',
  POLYMUR_ERR_TAG_SYNTAX: 'A tagged metric name (name;tag=value) does not parse as carbon parses tags. With -tag-normalize the name goes on unchanged.',
  POLYMUR_ERR_WRITE_TIMEOUT:
    'A destination accepted no byte for -write-timeout while data waited. The connection is dropped and the destination marked down; check the destination (carbon) is reading.',
  // Gateway requests: answered with an HTTP status, counted, the client's batch kept by the client.
  POLYMUR_ERR_BODY_TOO_LARGE:
    'A request body, compressed or inflated, is over -max-body-bytes or -max-batch-bytes. Answered 413; the proxy dead-letters the batch. Raise the limit or send smaller batches.',
  POLYMUR_ERR_BODY_MALFORMED: 'A request body is not valid gzip. Answered 400 (Batch Malformed); the proxy dead-letters the batch.',
  POLYMUR_ERR_INFLIGHT_BUDGET:
    "The gateway's -max-inflight-bytes were in use by other requests for too long. Answered 503 with Retry-After; the proxy retries. Raise the budget or add gateways.",
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** An error of ours: its `code` is stable and listed above; its message says what to do. */
export abstract class PolymurError extends Error {
  abstract readonly code: ErrorCode;

  constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
    // The class's own name, in stack traces and String(err).
    this.name = new.target.name;
  }
}

/** An error for a log line: its message, and for one of ours its code after it (`… [POLYMUR_ERR_CONFIG]`), for grep. */
export function withCode(err: unknown): string {
  if (err instanceof PolymurError) return `${err.message} [${err.code}]`;
  return err instanceof Error ? err.message : String(err);
}

/** Why a file could not be opened or read, in words for its error: "no such file", or the system's message. */
export function fileErrorText(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  if (e.code === 'ENOENT') return 'no such file';
  return typeof e.message === 'string' ? e.message : String(err);
}
