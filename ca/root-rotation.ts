// Root rotation as a pure state machine. No I/O, no clock: transitions take the instant as an argument, so
// every transition (and every invalid one) is table-tested. ca/rotation-manager.ts does the I/O around it.
//
// What each party trusts and presents, per phase (A = current root, B = new root, X = B cross-signed by A):
//
//   idle (A)           bundle {A}      CA signs with A, chain [leaf]        nodes present [leaf(A)]
//     │ start(B)
//     ▼
//   rotating → B       bundle {A, B}   CA signs with B, chain [leaf, X]     nodes present [leaf(A)] or [leaf(B), X]
//     │                                (a node still trusting only A accepts [leaf(B), X] through X)
//     │                                First the bundle is distributed: the CA keeps signing with A and asks
//     │                                no renewal until every connected node acknowledged {A, B} (at most
//     │                                RotationOptions.reaskMs), so no node meets a leaf(B) before it holds B.
//     │                                (ca/rotation-manager.ts #distributing; held in memory only.)
//     │ every live node holds leaf(B) and has acknowledged {A, B} ("converged"); then it finishes as soon as
//     │ every live node reported that none of its live connections and streams involves a certificate of A
//     │ (evidenceWait), or at the latest 1.5 max-connection-ages after convergence for nodes that never
//     │ report (every connection made with leaf(A) has had its GOAWAY by then).
//     ▼
//   idle (B)           bundle {B}      CA signs with B, chain [leaf]        tokens carry digest(B); old tokens stop
//                                      (A is kept as a *retired* root for one node-cert lifetime, for renewal
//                                      only: a node that slept through the rotation can still prove its key)
//
//   abort during rotating → B:  aborting → A: bundle stays {A, B}, CA signs with A again, nodes are re-issued
//   under A; when all hold leaf(A) and connections have cycled, bundle {A}. No handshake fails at any step,
//   because every certificate presented chains to a root every peer trusts.
import { HitlessError } from '../shared/errors.js';

export type Phase = 'rotating' | 'aborting';

export interface RotationRecord {
  id: string;
  phase: Phase;
  startedAt: string;
  /** The root being moved away from (A while rotating; B while aborting). */
  fromRootPem: string;
  fromFingerprint: string;
  /** The root every node must end up with. */
  toRootPem: string;
  toFingerprint: string;
  /** The new root's key (B), sealed with the CA passphrase until the rotation ends. */
  newKeySealed: unknown;
  /** B cross-signed by A: sent after leaves issued by B. */
  crossSignedPem: string;
  /** Bundle version that nodes must acknowledge ({A, B}). */
  bundleVersion: number;
  /** Nodes the operator chose to leave behind (--force): they do not block completion. */
  excluded: string[];
  /** When every live node converged; completion waits one max connection age past it. */
  convergedAt?: string;
}

export type RotationAction =
  | { type: 'start'; id: string; at: Date; fromRootPem: string; fromFingerprint: string; toRootPem: string; toFingerprint: string; newKeySealed: unknown; crossSignedPem: string; bundleVersion: number }
  | { type: 'abort' }
  | { type: 'force'; exclude: string[] }
  | { type: 'converged'; at: Date }
  | { type: 'diverged' };

const invalid = (msg: string, hint?: string) => new HitlessError('ROTATION_STATE', msg, { hint });

/** Throws ROTATION_STATE unless no rotation is in progress. */
export function assertNoRotation(state: RotationRecord | undefined): void {
  if (state) {
    throw invalid(`a root rotation is already ${state.phase} (since ${state.startedAt})`, "watch it with 'ca rotate-root --status', or '--abort' it");
  }
}

/** The next rotation record, or throws ROTATION_STATE for a transition that is not allowed now. */
export function transition(state: RotationRecord | undefined, action: RotationAction): RotationRecord {
  switch (action.type) {
    case 'start': {
      assertNoRotation(state);
      if (action.fromFingerprint === action.toFingerprint) throw invalid('the new root is the current root');
      return {
        id: action.id,
        phase: 'rotating',
        startedAt: action.at.toISOString(),
        fromRootPem: action.fromRootPem,
        fromFingerprint: action.fromFingerprint,
        toRootPem: action.toRootPem,
        toFingerprint: action.toFingerprint,
        newKeySealed: action.newKeySealed,
        crossSignedPem: action.crossSignedPem,
        bundleVersion: action.bundleVersion,
        excluded: [],
      };
    }
    case 'abort': {
      if (!state) throw invalid('no root rotation is in progress');
      if (state.phase === 'aborting') throw invalid('the rotation is already being aborted');
      // Same bundle {A, B}; the target flips back to A. Nodes re-issued under B are re-issued under A.
      const { fromRootPem, fromFingerprint, toRootPem, toFingerprint } = state;
      return { ...state, phase: 'aborting', fromRootPem: toRootPem, fromFingerprint: toFingerprint, toRootPem: fromRootPem, toFingerprint: fromFingerprint, convergedAt: undefined };
    }
    case 'force': {
      if (!state) throw invalid('no root rotation is in progress');
      return { ...state, excluded: [...new Set([...state.excluded, ...action.exclude])] };
    }
    case 'converged':
      if (!state) throw invalid('no root rotation is in progress');
      return state.convergedAt ? state : { ...state, convergedAt: action.at.toISOString() };
    case 'diverged':
      if (!state) throw invalid('no root rotation is in progress');
      return { ...state, convergedAt: undefined };
  }
}

export interface NodeView {
  nodeId: string;
  issuerRoot: string;
  bundleVersion?: number;
  lastSeen: string;
  removedAt?: string;
}

export type BlockReason = 'old-certificate' | 'bundle-not-acknowledged';

/** Why a node keeps the rotation from completing, or undefined when it does not. */
export function blockingReason(node: NodeView, r: RotationRecord): BlockReason | undefined {
  if (node.removedAt || r.excluded.includes(node.nodeId)) return undefined;
  if (node.issuerRoot !== r.toFingerprint) return 'old-certificate';
  if ((node.bundleVersion ?? 0) < r.bundleVersion) return 'bundle-not-acknowledged';
  return undefined;
}

/**
 * How long after convergence every connection made with an old-root certificate is surely gone: grpc-js
 * applies ±10 % jitter to max_connection_age, and a client needs a moment to act on the GOAWAY. Dropping the
 * old root earlier would fail calls on a connection that is still open (seen in testing as failed probes).
 */
export const CONNECTION_CYCLE_FACTOR = 1.5;

export function connectionCycleMs(maxConnectionAgeMs: number): number {
  return Math.ceil(maxConnectionAgeMs * CONNECTION_CYCLE_FACTOR);
}

export type EvidenceWait = 'no-report' | 'old-root-in-use';

/**
 * Why the finish still waits for a node's evidence (ReportLiveCredentials), or undefined when its report at
 * the rotation's bundle version shows that none of its live connections or streams involves a certificate of
 * the root being moved away from. Removed and excluded nodes are never waited for.
 */
export function evidenceWait(
  node: Pick<NodeView, 'nodeId' | 'removedAt'>,
  r: RotationRecord,
  report: { bundleVersion: number; issuerRoots: readonly string[] } | undefined,
): EvidenceWait | undefined {
  if (node.removedAt || r.excluded.includes(node.nodeId)) return undefined;
  if (!report || report.bundleVersion < r.bundleVersion) return 'no-report';
  return report.issuerRoots.includes(r.fromFingerprint) ? 'old-root-in-use' : undefined;
}

/**
 * True when the rotation may finish at `now`: all converged, and then either every live node reported that
 * nothing of its still involves the old root (`evidenceComplete`) or, for nodes that never report, the
 * connection-cycle timer ran out (the upper bound).
 */
export function readyToFinish(r: RotationRecord, now: Date, maxConnectionAgeMs: number, evidenceComplete = false): boolean {
  if (r.convergedAt === undefined) return false;
  return evidenceComplete || now.getTime() >= Date.parse(r.convergedAt) + connectionCycleMs(maxConnectionAgeMs);
}

/** The trust a rotation implies: both roots trusted; sign with the target; send X after leaves of B. */
export function rotationTrust(r: RotationRecord): { rootsPem: string[]; crossSignedPem: string[]; chainTail: 'cross-signed' | 'none' } {
  // Order: the root being moved to first is irrelevant to TLS; keep A first for readability in status output.
  const [a, b] = r.phase === 'rotating' ? [r.fromRootPem, r.toRootPem] : [r.toRootPem, r.fromRootPem];
  return { rootsPem: [a, b], crossSignedPem: [r.crossSignedPem], chainTail: r.phase === 'rotating' ? 'cross-signed' : 'none' };
}
