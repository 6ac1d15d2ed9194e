// Join tokens: `HTLS-1-<root digest>-<secret>`.
//   - root digest: SHA-256 of the root certificate's DER, base 36, left-padded to 50 characters. A joining
//     node refuses a trust bundle whose root does not hash to it, so a man in the middle cannot hand it
//     another root.
//   - secret: 16 random bytes, base 36, left-padded to 25 characters. Worker and manager tokens share the
//     digest and differ in the secret; which secret matches decides the role.
//   - limited tokens (`ca join-token create`, expiring and use-limited) have the same shape, so every agent
//     reads them: their 25 characters are an 8-character id (the CA's O(1) lookup key, not secret) and a
//     17-character secret (~88 bits). The CA keeps only the secret's SHA-256, so a copy of its store cannot
//     join. A cluster secret whose first 8 characters happen to name a limited token still fails that
//     token's secret check, so the two kinds need no marker.
// The format is versioned ("1") so that a later format can be told apart and refused clearly.
import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { HitlessError } from './errors.js';
import { escapedPrefix } from './untrusted.js';

export const TOKEN_PREFIX = 'HTLS';
export const TOKEN_VERSION = '1';
const DIGEST_LEN = 50;
const SECRET_LEN = 25;
/** `HTLS-1-<50>-<25>`. */
export const TOKEN_LENGTH = TOKEN_PREFIX.length + TOKEN_VERSION.length + DIGEST_LEN + SECRET_LEN + 3;
/**
 * Longest text parseJoinToken looks at (surrounding whitespace from a file or a paste included): anything
 * longer is refused by its length alone, before it is split, matched or quoted — a 3 MB field once became a
 * 3 MB log line and error message.
 */
export const MAX_TOKEN_TEXT = 256;

export interface JoinToken {
  rootDigest: string;
  secret: string;
}

function base36(bytes: Uint8Array, width: number): string {
  return BigInt('0x' + Buffer.from(bytes).toString('hex')).toString(36).padStart(width, '0');
}

export function rootDigest(rootDer: Uint8Array): string {
  return base36(createHash('sha256').update(rootDer).digest(), DIGEST_LEN);
}

export function generateSecret(): string {
  return base36(randomBytes(16), SECRET_LEN);
}

export function formatJoinToken(token: JoinToken): string {
  return `${TOKEN_PREFIX}-${TOKEN_VERSION}-${token.rootDigest}-${token.secret}`;
}

const invalid = (why: string) =>
  new HitlessError('INVALID_JOIN_TOKEN', `malformed join token: ${why}`, {
    hint: "get a current token on the CA host with 'ca join-token worker' (or manager)",
  });

/** Parses the token's shape only; whether it is *valid* is for the CA to say. */
export function parseJoinToken(text: string): JoinToken {
  if (text.length > MAX_TOKEN_TEXT) throw invalid(`${text.length} characters, a token has ${TOKEN_LENGTH}`);
  const parts = text.trim().split('-');
  if (parts.length !== 4 || parts[0] !== TOKEN_PREFIX) throw invalid(`expected ${TOKEN_PREFIX}-1-<digest>-<secret>`);
  if (parts[1] !== TOKEN_VERSION) throw invalid(`unsupported token version ${escapedPrefix(parts[1]!)} (this build knows ${TOKEN_VERSION})`);
  const [, , digest, secret] = parts as [string, string, string, string];
  if (!/^[0-9a-z]+$/.test(digest) || digest.length !== DIGEST_LEN) throw invalid(`root digest must be ${DIGEST_LEN} base-36 characters`);
  if (!/^[0-9a-z]+$/.test(secret) || secret.length !== SECRET_LEN) throw invalid(`secret must be ${SECRET_LEN} base-36 characters`);
  return { rootDigest: digest, secret };
}

/** Constant-time comparison of two secrets of any length (both are hashed to a fixed width first). */
export function secretsEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

// ---- Limited join tokens (expiring, use-limited) ----

export const LIMITED_ID_LEN = 8;
const LIMITED_SECRET_LEN = SECRET_LEN - LIMITED_ID_LEN;
const BASE36 = '0123456789abcdefghijklmnopqrstuvwxyz';

/** `n` uniformly random base-36 characters (randomInt is unbiased). */
function randomBase36(n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) out += BASE36[randomInt(36)];
  return out;
}

export interface LimitedSecret {
  /** Lookup key, shown by `ca join-token list`; not secret. */
  id: string;
  /** The part only the token holder knows; the CA stores its SHA-256. */
  secret: string;
}

export function generateLimitedSecret(): LimitedSecret & { tokenSecret: string } {
  const id = randomBase36(LIMITED_ID_LEN);
  const secret = randomBase36(LIMITED_SECRET_LEN);
  return { id, secret, tokenSecret: id + secret };
}

/** Splits a token's secret field (as parseJoinToken returns it) into a limited token's id and secret. */
export function splitLimitedSecret(tokenSecret: string): LimitedSecret {
  return { id: tokenSecret.slice(0, LIMITED_ID_LEN), secret: tokenSecret.slice(LIMITED_ID_LEN) };
}

/** What the CA stores for a limited token's secret: its SHA-256, hex. The secret is random, so no KDF is needed. */
export function hashTokenSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Constant-time: does `secret` hash to `sha256Hex`? */
export function secretMatchesHash(secret: string, sha256Hex: string): boolean {
  const expected = Buffer.from(sha256Hex, 'hex');
  const got = createHash('sha256').update(secret).digest();
  return expected.length === got.length && timingSafeEqual(expected, got);
}
