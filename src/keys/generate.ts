import { randomBytes } from 'node:crypto';

/** A new API key: 160 bits from the operating system's CSPRNG, as 40 hex characters. */
export function generateKey(): string {
  return randomBytes(20).toString('hex');
}
