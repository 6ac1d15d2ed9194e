import { randomBytes } from 'node:crypto';

/** A random 128-bit identifier in base 36 (25 characters), as SwarmKit names nodes. */
export function randomId(): string {
  return BigInt('0x' + randomBytes(16).toString('hex')).toString(36).padStart(25, '0');
}
