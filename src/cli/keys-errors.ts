// What a polymur-keys command throws besides store errors: a wrong command line (exit 2, with the
// usage) or a refusal (exit 1, the message alone), as the original pgw-key's wording has them.

export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'POLYMUR_ERR_KEYS_USAGE';
}

export class Refused extends Error {
  override readonly name = 'Refused';
  readonly code = 'POLYMUR_ERR_KEYS_REFUSED';
}
