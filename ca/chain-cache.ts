// Verified client chains, remembered. A node presents the same certificate on every call of a connection
// (renewals, watch streams, admin calls), and verifying it costs an ECDSA signature check per link (two during
// a rotation), about a hundred times a lookup. What a chain verification proves depends only on the
// certificate bytes and the trust it was checked against, so the result is kept per (certificate, trust) and
// re-checked only for time: every hit still checks validity at `now`. Node state (removed, serial issued to
// it) is never cached: callers look it up on every call. Chains through a *retired* root are not cached,
// since that trust ends at its own deadline.
import { createHash } from 'node:crypto';
import type { CertInfo } from '../shared/pki/certs.js';

export const CHAIN_CACHE_SIZE = 50_000;

export class ChainCache {
  readonly #entries = new Map<string, CertInfo>();
  #trust: object | undefined;

  constructor(private readonly maxEntries = CHAIN_CACHE_SIZE) {}

  /** The verified leaf for `der` under `trust`, if it was verified before and is valid at `now`. */
  get(der: Uint8Array, trust: object, now: Date): CertInfo | undefined {
    if (trust !== this.#trust) return undefined;
    const leaf = this.#entries.get(key(der));
    if (!leaf) return undefined;
    if (now < leaf.notBefore || now > leaf.notAfter) return undefined;
    return leaf;
  }

  set(der: Uint8Array, trust: object, leaf: CertInfo): void {
    if (trust !== this.#trust) {
      // New trust (a rotation step, a new signer): nothing verified under the old one carries over.
      this.#entries.clear();
      this.#trust = trust;
    }
    if (this.#entries.size >= this.maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(key(der), leaf);
  }
}

const key = (der: Uint8Array) => createHash('sha256').update(der).digest('base64');
