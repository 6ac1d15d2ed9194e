// Root rotation, the I/O half: loads the CA's trust (current root, a rotation in progress, retired roots) from
// files and store, starts/aborts/forces rotations, and runs the reconciler that asks nodes to renew in
// rate-limited batches and finishes the rotation once the fleet has converged. The decisions themselves are
// the pure functions of ca/root-rotation.ts.
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import { HitlessError } from '../shared/errors.js';
import { randomId } from '../shared/ids.js';
import { generateKeyPairPem, keyMatchesCertificate } from '../shared/pki/keys.js';
import { parseCertificate } from '../shared/pki/certs.js';
import { createRootCertificate, crossSignRoot } from '../shared/pki/roots.js';
import type { CaStore, NodeRecord } from './store.js';
import { metrics } from '../shared/metrics.js';
import type { RootMaterialStore } from './root-material.js';
import type { Authority, TrustState } from './authority.js';
import { createSigner } from './issuer.js';
import { checkSuppliedRoot } from './supplied-root.js';
import { sealPrivateKey, unsealPrivateKey, type RootKeyAhead, type SealedKey } from './root-key.js';
import { assertNoRotation, connectionCycleMs, readyToFinish, rotationTrust, transition, type RotationRecord } from './root-rotation.js';
import type { LiveEvidence } from './live-evidence.js';
import { rotationStatus, type RotationStatusView } from './rotation-status.js';

export type { RotationStatusView } from './rotation-status.js';

export interface RotationOptions {
  /**
   * Renewal requests outstanding at once. A request is outstanding until the node renews (then the next
   * node is asked at once) or `reaskMs` passes: the CA paces the fleet by its own throughput, never flooded.
   * @default 256
   */
  window?: number;
  /** Reconciler period. @default 1000 */
  tickMs?: number;
  /** A node asked to renew is asked again after this long without converging. @default 10000 */
  reaskMs?: number;
}

interface Deps {
  store: CaStore;
  clock: Clock;
  log: Logger;
  /** The root certificate and sealed key (ca/root-material.ts): files, or etcd for replicas. */
  root: RootMaterialStore;
  passphrase: string;
  /** The root key's unseal that `ca serve` started early (ca/root-key.ts), taken by the first loadTrust. */
  rootKeyAhead?: RootKeyAhead;
  nodeCertTtlMs: number;
  backdateMs: number;
  maxConnectionAgeMs: number;
  /**
   * Replicas (ca/leadership.ts): every replica asks the nodes connected to it to renew; only the leader takes
   * the rotation's steps (converge, diverge, finish). @default always (one CA process)
   */
  isLeader?: () => boolean;
  /** Agents' reports of the roots on their live connections and streams (ReportLiveCredentials). */
  evidence?: LiveEvidence;
}

/** Reads the CA's trust from disk and store, completing a finish that a crash interrupted. */
export async function loadTrust(d: Omit<Deps, 'log' | 'maxConnectionAgeMs'> & { log: Logger }): Promise<TrustState> {
  const { store, root, passphrase, clock } = d;
  // Root material and rotation state are read together, before the (slow) unseal: reading the state after it could
  // pair the old root with a rotation another replica finished meanwhile (a replica following a finish was seen to
  // settle on the old root alone). A change after these reads triggers another reload (replica.ts).
  const material = await root.read();
  const state = await store.getRotationState();
  let rootPem = material.rootPem;
  const rotation = state.rotation;
  const crossSigned = rotation ? rotationTrust(rotation).chainTail === 'cross-signed' : false;
  // Mid-rotation the new root's key is needed too: both scrypts run at once (libuv's pool has four threads).
  const [rootKeyPem, newKeyPem] = await Promise.all([
    d.rootKeyAhead?.take(material.sealedKey) ?? unsealPrivateKey(material.sealedKey, passphrase),
    crossSigned ? unsealPrivateKey(rotation!.newKeySealed as SealedKey, passphrase) : undefined,
  ]);
  if (!keyMatchesCertificate(rootKeyPem, rootPem)) {
    // finish() writes the key, then the certificate: a crash in between leaves the new key beside the old cert.
    if (rotation && keyMatchesCertificate(rootKeyPem, rotation.toRootPem)) {
      d.log.warn('root_rotation.finish_recovered', { rotationId: rotation.id });
      await root.replace({ rootPem: rotation.toRootPem, sealedKey: material.sealedKey });
      rootPem = rotation.toRootPem;
      await store.updateRotationState({ rotation: null }, rotation);
      return loadTrust(d);
    }
    throw new HitlessError('INVALID_ARGUMENT', `the root key in ${root.where} does not belong to its root certificate`);
  }
  const version = state.bundleVersion;
  const now = clock.now().getTime();
  const retired = state.retired.filter((r) => Date.parse(r.until) > now);
  if (!rotation) {
    return { rootsPem: [rootPem], crossSignedPem: [], version, signer: await createSigner(rootPem, rootKeyPem), tokenRootPem: rootPem, retired };
  }
  const trust = rotationTrust(rotation);
  // Rotating: sign with the new key and send the cross-sign. Aborting: sign with the current root again.
  const signer = crossSigned
    ? await createSigner(rotation.toRootPem, newKeyPem!, [rotation.crossSignedPem])
    : await createSigner(rootPem, rootKeyPem);
  return { rootsPem: trust.rootsPem, crossSignedPem: trust.crossSignedPem, version, signer, tokenRootPem: rootPem, retired };
}


export class RotationManager {
  readonly #asked = new Map<string, number>();
  readonly #stop = new AbortController();
  #loop: Promise<void> | undefined;
  #busy: Promise<unknown> = Promise.resolve();
  readonly #window: number;
  /** Connected nodes that still need a renewal and have not been asked recently, next one last (refreshed every tick). */
  #queue: string[] = [];
  readonly #tickMs: number;
  readonly #reaskMs: number;
  /**
   * A started rotation first distributes the bundle {A, B}: the CA keeps signing with A, and asks no node to
   * renew, until every connected node has acknowledged it (or reaskMs has passed). Otherwise a node renewed
   * under B could present [leaf(B), X] to a peer that still holds only {A} and no X, and the peer's call
   * check would refuse it (seen as failed probes in testing). Held in memory: a CA restarted mid-rotation
   * signs with B at once (loadTrust), its nodes reconnecting already hold {A, B}.
   */
  #distributing: { rotationId: string; signer: TrustState['signer']; since: number } | undefined;

  constructor(
    private readonly d: Deps & { authority: Authority },
    options: RotationOptions = {},
  ) {
    this.#window = options.window ?? 256;
    this.#tickMs = options.tickMs ?? 1000;
    this.#reaskMs = options.reaskMs ?? 10_000;
  }

  start(): void {
    this.d.authority.on('node-renewed', this.#onRenewed);
    this.d.authority.on('node-acknowledged', this.#onAcknowledged);
    this.d.evidence?.on('report', this.#onReport);
    this.#loop = this.#run();
  }

  /**
   * The last acknowledgement (while distributing) or the last evidence report (once converged) is acted on at
   * once rather than at the next tick. At most one extra tick is queued however many arrive.
   *
   * Only the *last* one: a tick lists every node (O(fleet)), so ticking on every report would cost the CA
   * O(fleet²) per rotation — at 10,000 nodes, back-to-back ticks for as long as reports kept arriving. Each
   * tick notes whom it still waits for (#pending); an acknowledgement or report removes its node, and the
   * extra tick runs when none is left. A report that turns out not to be clean (it still names the old root)
   * also removes its node: the extra tick then finds it still waiting and notes it again. Nodes whose evidence
   * reaches this replica only through the store (etcd replicas) are seen by the periodic tick.
   */
  #pending: { kind: 'acknowledgement' | 'evidence'; nodeIds: Set<string> } | undefined;
  /** Nodes heard from (acknowledged or reported) since the running tick began: not pending, whatever it read. */
  readonly #heard = new Set<string>();
  #nudged = false;
  #nudge(): void {
    if (this.#nudged) return;
    this.#nudged = true;
    void this.#exclusive(async () => {
      this.#nudged = false;
      await this.#tick();
    }).catch((err: unknown) => this.d.log.error('root_rotation.tick_failed', { err }));
  }
  readonly #onAcknowledged = (nodeId: string): void => {
    if (this.#distributing) this.#settled('acknowledgement', nodeId);
  };
  readonly #onReport = (nodeId: string): void => {
    // Only the leader finishes a rotation: on another replica a report changes nothing a tick could act on.
    if (this.#awaitingEvidence && this.#leads()) this.#settled('evidence', nodeId);
  };
  #settled(kind: 'acknowledgement' | 'evidence', nodeId: string): void {
    this.#heard.add(nodeId);
    const pending = this.#pending;
    // No list for this phase yet (no tick since it began): look now.
    if (!pending || pending.kind !== kind) return this.#nudge();
    if (pending.nodeIds.delete(nodeId) && pending.nodeIds.size === 0) this.#nudge();
  }
  /**
   * What this tick found still outstanding, less whoever was heard from while it ran (the previous list stays in
   * force until now, so reports during a tick do not each queue another); looks again at once if that is nobody.
   */
  #await(kind: 'acknowledgement' | 'evidence', nodeIds: readonly string[]): void {
    const pending = new Set(nodeIds.filter((id) => !this.#heard.has(id)));
    this.#pending = { kind, nodeIds: pending };
    if (pending.size === 0 && nodeIds.length > 0) this.#nudge();
  }
  /** The rotation has converged and waits for evidence (set by each tick). */
  #awaitingEvidence = false;

  /** A renewal frees its slot in the window: ask the next node now rather than at the next tick. */
  readonly #onRenewed = (nodeId: string): void => {
    if (this.#asked.delete(nodeId)) this.#pump(this.d.clock.now());
  };

  #pump(now: Date): number {
    const cutoff = now.getTime() - this.#reaskMs;
    for (const [id, at] of this.#asked) if (at <= cutoff) this.#asked.delete(id);
    let asked = 0;
    while (this.#asked.size < this.#window && this.#queue.length) {
      const nodeId = this.#queue.pop()!;
      this.#asked.set(nodeId, now.getTime());
      this.d.authority.emit('renew-requested', nodeId);
      asked++;
    }
    return asked;
  }

  async stop(): Promise<void> {
    this.d.authority.off('node-renewed', this.#onRenewed);
    this.d.authority.off('node-acknowledged', this.#onAcknowledged);
    this.d.evidence?.off('report', this.#onReport);
    this.#stop.abort();
    await this.#loop;
  }

  /** Serializes operator commands and reconciler ticks: one change to the rotation at a time. */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#busy.then(fn, fn);
    this.#busy = next.catch(() => {});
    return next;
  }

  async #record(): Promise<RotationRecord | undefined> {
    return (await this.d.store.getRotationState()).rotation;
  }

  begin(req: { certPem?: string; keyPem?: string; subject?: string }): Promise<RotationStatusView> {
    return this.#exclusive(async () => {
      const { store, clock, log, passphrase, authority } = this.d;
      const before = await this.#record();
      assertNoRotation(before);
      const current = authority.trust;
      const fromRootPem = current.tokenRootPem;
      const now = clock.now();
      let toRootPem: string;
      let toKeyPem: string;
      if (req.certPem || req.keyPem) {
        if (!req.certPem || !req.keyPem) throw new HitlessError('INVALID_ARGUMENT', 'an operator-supplied root needs both --cert and --key');
        checkSuppliedRoot(req.certPem, req.keyPem, now);
        [toRootPem, toKeyPem] = [req.certPem, req.keyPem];
      } else {
        toKeyPem = generateKeyPairPem().privateKeyPem;
        const old = parseCertificate(fromRootPem);
        toRootPem = await createRootCertificate({
          privateKeyPem: toKeyPem,
          subject: req.subject || old.subjectName,
          notBefore: new Date(now.getTime() - 5 * 60_000),
          notAfter: new Date(now.getTime() + (old.notAfter.getTime() - old.notBefore.getTime())),
        });
      }
      const crossSignedPem = await crossSignRoot(toRootPem, fromRootPem, current.signer.keyPem);
      const version = current.version + 1;
      const record = transition(undefined, {
        type: 'start',
        id: randomId().slice(0, 12),
        at: now,
        fromRootPem,
        fromFingerprint: parseCertificate(fromRootPem).fingerprint,
        toRootPem,
        toFingerprint: parseCertificate(toRootPem).fingerprint,
        newKeySealed: await sealPrivateKey(toKeyPem, passphrase),
        crossSignedPem,
        bundleVersion: version,
      });
      await store.updateRotationState({ rotation: record, bundleVersion: version }, null);
      const trust = rotationTrust(record);
      // Still signing with the current root: see #distributing.
      authority.setTrust({ ...current, rootsPem: trust.rootsPem, crossSignedPem: trust.crossSignedPem, version });
      this.#distributing = { rotationId: record.id, signer: await createSigner(toRootPem, toKeyPem, [crossSignedPem]), since: now.getTime() };
      this.#asked.clear();
      this.#queue = [];
      metrics.caRotationTransitions.inc({ step: 'started' });
      await authority.audit.append('root_rotation.started', { kind: 'ca' }, { rotationId: record.id, from: record.fromFingerprint, to: record.toFingerprint, bundleVersion: version });
      log.info('root_rotation.started', { rotationId: record.id, from: record.fromFingerprint, to: record.toFingerprint, bundleVersion: version });
      return this.#statusOf(record);
    });
  }

  abort(): Promise<RotationStatusView> {
    return this.#exclusive(async () => {
      const { store, log, authority } = this.d;
      const before = await this.#record();
      const record = transition(before, { type: 'abort' });
      const version = await this.#nextBundleVersion(record);
      const next = { ...record, bundleVersion: version };
      await store.updateRotationState({ rotation: next, bundleVersion: version }, before);
      const rootKeyPem = await unsealPrivateKey((await this.d.root.read()).sealedKey, this.d.passphrase);
      authority.setTrust({ ...authority.trust, version, signer: await createSigner(next.toRootPem, rootKeyPem) });
      this.#distributing = undefined;
      this.#asked.clear();
      this.#queue = [];
      metrics.caRotationTransitions.inc({ step: 'aborting' });
      await authority.audit.append('root_rotation.aborting', { kind: 'ca' }, { rotationId: next.id, backTo: next.toFingerprint });
      log.info('root_rotation.aborting', { rotationId: next.id, backTo: next.toFingerprint });
      return this.#statusOf(next);
    });
  }

  force(nodeIds: string[]): Promise<RotationStatusView> {
    return this.#exclusive(async () => {
      const record = await this.#record();
      const exclude = nodeIds.length || !record ? nodeIds : (await this.#statusOf(record)).blocking.map((b) => b.nodeId);
      const next = transition(record, { type: 'force', exclude });
      await this.d.store.updateRotationState({ rotation: next }, record);
      metrics.caRotationTransitions.inc({ step: 'forced' });
      await this.d.authority.audit.append('root_rotation.forced', { kind: 'ca' }, { rotationId: next.id, excluded: exclude });
      this.d.log.warn('root_rotation.forced', { rotationId: next.id, excluded: exclude });
      return this.#statusOf(next);
    });
  }

  async status(): Promise<RotationStatusView> {
    return this.#statusOf(await this.#record());
  }

  async #statusOf(record: RotationRecord | undefined): Promise<RotationStatusView> {
    const { authority, store } = this.d;
    const [state, nodes] = await Promise.all([store.getRotationState(), store.listNodes()]);
    return rotationStatus(nodes, record, {
      currentRootFingerprint: this.#fingerprintOf(authority.trust.tokenRootPem),
      lastFinishedAt: state.lastFinished?.at,
      isWatching: (nodeId) => authority.isWatching(nodeId),
      evidence: this.d.evidence,
      maxConnectionAgeMs: this.d.maxConnectionAgeMs,
    });
  }

  /** The fingerprint of a root PEM, parsed once per PEM (the status and every tick name the current root). */
  #fingerprint: { pem: string; fingerprint: string } | undefined;
  #fingerprintOf(pem: string): string {
    if (this.#fingerprint?.pem !== pem) this.#fingerprint = { pem, fingerprint: parseCertificate(pem).fingerprint };
    return this.#fingerprint.fingerprint;
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      await this.#exclusive(() => this.#tick()).catch((err: unknown) => this.d.log.error('root_rotation.tick_failed', { err }));
      await this.d.clock.sleep(this.#tickMs, signal).catch(() => {});
    }
  }

  async #tick(): Promise<void> {
    const record = await this.#record();
    this.#awaitingEvidence = record?.convergedAt !== undefined;
    this.#heard.clear();
    if (!record) {
      this.#pending = undefined;
      return;
    }
    const { store, clock, authority, log } = this.d;
    const now = clock.now();
    const view = await this.#statusOf(record);
    if (this.#distributing && (this.#distributing.rotationId !== record.id || record.phase !== 'rotating')) this.#distributing = undefined;
    if (this.#distributing) {
      const d = this.#distributing;
      const unacknowledged = (await store.listNodes())
        .filter((n) => !n.removedAt && !record.excluded.includes(n.nodeId) && authority.isWatching(n.nodeId) && (n.bundleVersion ?? 0) < record.bundleVersion)
        .map((n) => n.nodeId);
      const timedOut = now.getTime() - d.since >= this.#reaskMs;
      if (unacknowledged.length > 0 && !timedOut) return this.#await('acknowledgement', unacknowledged);
      this.#distributing = undefined;
      this.#pending = undefined;
      authority.setTrust({ ...authority.trust, signer: d.signer });
      const fields = { rotationId: record.id, afterMs: now.getTime() - d.since };
      if (unacknowledged.length) log.warn('root_rotation.bundle_distribution_timed_out', { ...fields, unacknowledged: unacknowledged.slice(0, 20), count: unacknowledged.length });
      else log.info('root_rotation.bundle_distributed', fields);
      // Renewals are asked from the next tick: the CA's own TLS certificate is re-issued under B on this trust
      // change (server-identity.ts, asynchronously); a node renewing before that would move its watch to a
      // connection with the CA's A-issued certificate, which nothing would move again until its next renewal.
      return;
    }
    if (view.blocking.length > 0) {
      this.#pending = undefined;
      if (record.convergedAt && this.#leads()) await store.updateRotationState({ rotation: transition(record, { type: 'diverged' }) }, record);
      // Ask connected, unconverged nodes to renew, at most `window` outstanding (see RotationOptions).
      this.#queue = view.blocking.filter((b) => b.connected && !this.#asked.has(b.nodeId)).map((b) => b.nodeId).reverse();
      const asked = this.#pump(now);
      if (asked) log.info('root_rotation.renewals_requested', { count: asked, blocking: view.blocking.length });
      return;
    }
    if (!this.#leads()) {
      this.#pending = undefined;
      return;
    }
    if (!record.convergedAt) {
      const next = transition(record, { type: 'converged', at: now });
      await store.updateRotationState({ rotation: next }, record);
      metrics.caRotationTransitions.inc({ step: 'converged' });
      await authority.audit.append('root_rotation.converged', { kind: 'ca' }, { rotationId: record.id });
      log.info('root_rotation.converged', { rotationId: record.id, finishesAt: new Date(now.getTime() + connectionCycleMs(this.d.maxConnectionAgeMs)), waitingFor: view.waitingFor.length });
      // The evidence may be complete already (every node reported as it renewed): finish now, not a tick later.
      if (view.waitingFor.length === 0) {
        log.info('root_rotation.finishing', { rotationId: record.id, on: 'evidence', waitingFor: [] });
        await this.#finish(next);
      } else {
        this.#awaitingEvidence = true;
        this.#await('evidence', view.waitingFor.map((w) => w.nodeId));
      }
      return;
    }
    this.#await('evidence', view.waitingFor.map((w) => w.nodeId));
    if (readyToFinish(record, now, this.d.maxConnectionAgeMs, view.waitingFor.length === 0)) {
      log.info('root_rotation.finishing', { rotationId: record.id, on: view.waitingFor.length === 0 ? 'evidence' : 'timer', waitingFor: view.waitingFor.map((w) => w.nodeId) });
      await this.#finish(record);
    }
  }

  /**
   * The next bundle version from the store, not from this replica's trust: a leader that has not yet followed the
   * rotation's start (another replica began it) would otherwise reuse the rotation's version for the final bundle,
   * and agents holding that version would never take the new one.
   */
  async #nextBundleVersion(record: RotationRecord): Promise<number> {
    return Math.max(this.d.authority.trust.version, record.bundleVersion, (await this.d.store.getRotationState()).bundleVersion) + 1;
  }

  #leads(): boolean {
    return this.d.isLeader?.() ?? true;
  }

  async #finish(record: RotationRecord): Promise<void> {
    const { store, clock, log, authority, root, passphrase } = this.d;
    const now = clock.now();
    const until = new Date(now.getTime() + this.d.nodeCertTtlMs + this.d.backdateMs).toISOString();
    const version = await this.#nextBundleVersion(record);
    const targetKeyPem =
      record.phase === 'rotating'
        ? await unsealPrivateKey(record.newKeySealed as SealedKey, passphrase)
        : await unsealPrivateKey((await root.read()).sealedKey, passphrase);
    if (record.phase === 'rotating') {
      // Key first, then certificate; loadTrust() completes a finish interrupted between the two.
      await root.replace({ rootPem: record.toRootPem, sealedKey: record.newKeySealed as SealedKey });
    }
    const retired = [
      ...authority.trust.retired.filter((r) => Date.parse(r.until) > now.getTime()),
      { rootPem: record.fromRootPem, crossSignedPem: record.crossSignedPem, until },
    ];
    await store.updateRotationState(
      { rotation: null, bundleVersion: version, retired, lastFinished: { at: now.toISOString(), id: record.id, phase: record.phase } },
      record,
    );
    authority.setTrust({
      rootsPem: [record.toRootPem],
      crossSignedPem: [],
      version,
      signer: await createSigner(record.toRootPem, targetKeyPem),
      tokenRootPem: record.toRootPem,
      retired,
    });
    metrics.caRotationTransitions.inc({ step: record.phase === 'rotating' ? 'finished' : 'aborted' });
    await authority.audit.append(record.phase === 'rotating' ? 'root_rotation.finished' : 'root_rotation.aborted', { kind: 'ca' }, { rotationId: record.id, root: record.toFingerprint, bundleVersion: version, excluded: record.excluded });
    log.info(record.phase === 'rotating' ? 'root_rotation.finished' : 'root_rotation.aborted', {
      rotationId: record.id,
      root: record.toFingerprint,
      bundleVersion: version,
      excluded: record.excluded,
    });
  }
}
