// What a polymur-keys command throws besides store errors: a wrong command line (exit 2, with the
// usage) or a refusal (exit 1, the message alone), as the original pgw-key's wording has them.
import { PolymurError } from '../errors.js';

export class UsageError extends PolymurError {
  readonly code = 'POLYMUR_ERR_KEYS_USAGE';
}

export class Refused extends PolymurError {
  readonly code = 'POLYMUR_ERR_KEYS_REFUSED';
}
