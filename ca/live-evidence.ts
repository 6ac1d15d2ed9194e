// Rotation evidence reported by agents (ReportLiveCredentials): per node, the bundle version it holds and the
// roots that issued the certificates on its live connections and streams. In memory on purpose: it describes
// live connections, which a CA restart ends anyway; agents report again on every watch re-established after a failure. Bounded by
// the number of authenticated nodes (one entry each, at most MAX_ROOTS fingerprints).
import { EventEmitter } from 'node:events';
import { HitlessError } from '../shared/errors.js';
import { escapedPrefix } from '../shared/untrusted.js';

export const MAX_ROOTS = 16;

export interface LiveReport {
  bundleVersion: number;
  issuerRoots: readonly string[];
  at: Date;
}

/** Emits 'report' (nodeId) after each recorded report, so a rotation waiting on evidence looks at once. */
export class LiveEvidence extends EventEmitter {
  readonly #byNode = new Map<string, LiveReport>();

  /** Records a node's report; throws INVALID_ARGUMENT for a malformed one (and records nothing). */
  report(nodeId: string, bundleVersion: number, issuerRoots: readonly string[], at: Date): void {
    if (!Number.isSafeInteger(bundleVersion) || bundleVersion < 0) throw new HitlessError('INVALID_ARGUMENT', 'bundle_version must be a non-negative integer');
    if (issuerRoots.length > MAX_ROOTS) throw new HitlessError('INVALID_ARGUMENT', `at most ${MAX_ROOTS} issuer root fingerprints per report, got ${issuerRoots.length}`);
    for (const f of issuerRoots) {
      if (!/^[0-9a-f]{64}$/.test(f)) throw new HitlessError('INVALID_ARGUMENT', `issuer root fingerprint "${escapedPrefix(f)}" is not 64 lowercase hex digits`);
    }
    this.#byNode.set(nodeId, { bundleVersion, issuerRoots: [...new Set(issuerRoots)], at });
    this.emit('report', nodeId);
  }

  get(nodeId: string): LiveReport | undefined {
    return this.#byNode.get(nodeId);
  }

  /** A removed node's report goes with it. */
  forget(nodeId: string): void {
    this.#byNode.delete(nodeId);
  }
}
