// Verified client chains, remembered. A node presents the same certificate on every call of a connection
// (renewals, watch streams, admin calls), and verifying it costs an ECDSA signature check per link (two during
// a rotation), about a hundred times a lookup. What a chain verification proves depends only on the
// certificate bytes and the trust it was checked against, so the result is kept per (certificate, trust) and
// re-checked only for time: every hit still checks validity at `now`. Node state (removed, serial issued to
// it) is never cached: callers look it up on every call. Chains through a *retired* root are not cached,
// since that trust ends at its own deadline.
//
// Across a trust change (each root rotation makes three: {A,B} signed by A, then signed by B, then {B}) an entry
// is kept only when its leaf was signed directly by a root that the new trust still has: verifying it again
// would take the same path (leaf → that root, no intermediate) to the same conclusion. Everything else — a
// chain through a cross-signed intermediate, a leaf of a root the new trust dropped — is forgotten and verified
// again on its next use. Before, every change emptied the cache, so each node's first call after each step of a
// rotation paid a full verification (~0.2 ms of the CA's CPU; at 10,000 nodes twice per rotation).
import { createHash } from 'node:crypto';
import { parseCertificate, type CertInfo } from '../shared/pki/certs.js';

export const CHAIN_CACHE_SIZE = 50_000;

/** What the cache needs of a trust state: its roots (PEM). Compared by identity: a new object is a new trust. */
export interface CacheTrust {
  readonly rootsPem: readonly string[];
}

interface Entry {
  leaf: CertInfo;
  /** Fingerprint of the root that signed the leaf itself, when one did (chains through an intermediate: none). */
  directRoot: string | undefined;
}

export class ChainCache {
  readonly #entries = new Map<string, Entry>();
  #trust: CacheTrust | undefined;

  constructor(private readonly maxEntries = CHAIN_CACHE_SIZE) {}

  /** The verified leaf for `der` under `trust`, if it was verified before and is valid at `now`. */
  get(der: Uint8Array, trust: CacheTrust, now: Date): CertInfo | undefined {
    this.#adopt(trust);
    const leaf = this.#entries.get(key(der))?.leaf;
    if (!leaf) return undefined;
    if (now < leaf.notBefore || now > leaf.notAfter) return undefined;
    return leaf;
  }

  /**
   * Remembers `leaf` as verified under `trust`. `directRoot`: the fingerprint of the root of `trust` that signed
   * the leaf itself (the verified path was leaf → root), which lets the entry outlive a trust change that keeps
   * that root; omit it for any other path.
   */
  set(der: Uint8Array, trust: CacheTrust, leaf: CertInfo, directRoot?: string): void {
    this.#adopt(trust);
    if (this.#entries.size >= this.maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(key(der), { leaf, directRoot });
  }

  /** A new trust: keep only entries whose leaf a root of it signed directly (see the header). */
  #adopt(trust: CacheTrust): void {
    if (trust === this.#trust) return;
    this.#trust = trust;
    if (this.#entries.size === 0) return;
    const roots = new Set(trust.rootsPem.map((pem) => parseCertificate(pem).fingerprint));
    for (const [k, e] of this.#entries) if (e.directRoot === undefined || !roots.has(e.directRoot)) this.#entries.delete(k);
  }
}

const key = (der: Uint8Array) => createHash('sha256').update(der).digest('base64');
