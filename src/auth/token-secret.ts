/**
 * Token secrets: generated at random, shown once, stored only as a SHA-256 hash. A
 * secret has 256 bits of entropy, so a fast hash is enough; lookups go by hash, which
 * reveals nothing about the secret through timing.
 */
import { hash, randomBytes } from 'node:crypto';

const SECRET_PREFIX = 'oc_';
/** How many characters after `oc_` form the public prefix shown in lists and logs. */
const PUBLIC_CHARS = 8;

export interface NewSecret {
  secret: string;
  hash: string;
  prefix: string;
}

export function generateSecret(): NewSecret {
  const secret = SECRET_PREFIX + randomBytes(32).toString('base64url');
  return { secret, hash: hashSecret(secret), prefix: publicPrefix(secret) };
}

export function hashSecret(secret: string): string {
  // The one-shot form: no Hash object per request.
  return hash('sha256', secret, 'base64url');
}

export function publicPrefix(secret: string): string {
  return secret.slice(0, SECRET_PREFIX.length + PUBLIC_CHARS);
}
