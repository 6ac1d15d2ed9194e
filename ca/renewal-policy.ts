// Pure decisions about renewals (no store, no gRPC; time from an injected Clock):
//  - certStanding: which of a node's certificates may still authenticate it. Only the newest — and, until
//    the newest has been seen in use, the one the node last authenticated with (a renewal whose response
//    was lost must not lock the node out). Any other certificate the CA issued to the node is superseded:
//    someone holds an old key of the node, which is refused and reported as a possible key compromise.
//  - RenewalThrottle: renewals per node are rate-limited, except the one renewal the CA itself asked for
//    (root rotation, `renew_requested`), which must never wait.
import type { Clock } from '../shared/clock.js';
import type { NodeRecord } from './store.js';
import { RateBuckets, type Rate, type Reservation } from './token-policy.js';

export type CertStanding = 'newest' | 'fallback' | 'superseded';

export function certStanding(node: Pick<NodeRecord, 'serial' | 'fallbackSerial'>, serial: string): CertStanding {
  if (serial === node.serial) return 'newest';
  if (node.fallbackSerial !== undefined && serial === node.fallbackSerial) return 'fallback';
  return 'superseded';
}

/** Whether authenticating with `standing` shows the newest certificate in use (the fallback can then go). */
export function seesNewest(node: Pick<NodeRecord, 'fallbackSerial'>, standing: CertStanding): boolean {
  return standing === 'newest' && node.fallbackSerial !== undefined;
}

/** Renewals a node may make per node-certificate lifetime (burst and average), beyond those the CA asks for. */
export const RENEWALS_PER_LIFETIME_DEFAULT = 5;

export function defaultRenewRate(nodeCertTtlMs: number): Rate {
  return { count: RENEWALS_PER_LIFETIME_DEFAULT, perMs: nodeCertTtlMs };
}

export class RenewalThrottle {
  readonly #buckets: RateBuckets;
  /** Nodes the CA asked to renew (each entry is one exempt renewal); at most one per node. */
  readonly #requested = new Set<string>();

  constructor(clock: Clock, readonly rate: Rate) {
    this.#buckets = new RateBuckets(clock, rate);
  }

  /** The CA asked `nodeId` to renew now: its next renewal is not throttled. */
  requested(nodeId: string): void {
    this.#requested.add(nodeId);
  }

  /** A node that is gone needs no exemption (keeps the set bounded by live nodes). */
  forget(nodeId: string): void {
    this.#requested.delete(nodeId);
  }

  reserve(nodeId: string): Reservation {
    if (this.#requested.delete(nodeId)) return { ok: true, release: () => this.#requested.add(nodeId) };
    const t = this.#buckets.take(nodeId);
    if (!t.ok) return { ok: false, limit: 'renewals_per_node', retryAfterMs: t.retryAfterMs };
    return { ok: true, release: () => this.#buckets.refund(nodeId) };
  }
}
