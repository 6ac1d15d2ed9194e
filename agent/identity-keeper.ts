// The one owner of this process's node identity: the certificate, key and trust bundle it presents and trusts,
// the removed-node list, and a trust bundle waiting for a renewal. Every change (the start, a renewal, a bundle
// or removed-node list pushed by the CA) goes through here, one at a time, and installs as
// validate → persist → publish → export. agent/node-agent.ts does the wiring (servers, channels, the CA watch)
// and the I/O of asking the CA; it hands the results to this file.
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import type { MemoryCertificateProvider } from '../shared/grpc/certificate-provider.js';
import { verifyChain } from '../shared/pki/chain.js';
import { KeyedMutex } from '../shared/keyed-mutex.js';
import type { IssuedCertificate__Output } from '../proto/load.js';
import type { IdentityStore, StoredIdentity } from './identity-store.js';
import type { NodeServiceRegistry } from './node-service.js';
import type { LiveCredentials } from './live-credentials.js';
import type { TrustView } from './peer-auth.js';
import { identityFromIssued } from './issued.js';
import { writeCertOut, runOnRotate } from './cert-out.js';

export type TrustBundle = StoredIdentity['bundle'];

export interface IdentityKeeperDeps {
  provider: MemoryCertificateProvider;
  store: IdentityStore;
  /** Streams this node serves: rechecked when the bundle changes, asked to move when the certificate does. */
  registry: NodeServiceRegistry;
  /** Rotation evidence: which certificates and roots were in force when. */
  live: LiveCredentials;
  clock: Clock;
  log: Logger;
  /** --cert-out and --on-rotate: where workloads get the identity, and the command told of a change. */
  certOut?: string;
  onRotate?: string;
  /** Asks for a renewal now (a bundle our certificate does not verify against waits for one). */
  renewNow: (reason: string) => void;
  /** After every install, when the new identity is in force everywhere. */
  installed: (next: StoredIdentity) => void;
}

export class IdentityKeeper {
  #identity: StoredIdentity | undefined;
  #removed = new Set<string>();
  #pendingBundle: TrustBundle | undefined;
  #renewals = 0;

  /**
   * One identity change at a time: a renewal's install, a bundle's install and a save of the removed-node list
   * each build on the identity as it is when they run. Interleaved, a bundle install that began (its chain
   * check, its save) while a renewal was installing went on with the identity it had read, and put back, in
   * memory and on disk, the certificate the renewal had just replaced. The node then presented a superseded
   * certificate, which the CA refuses once the newer one has been seen in use: locked out until it expired
   * (seen with replicas failing over during a root rotation, test/ha/failover.test.ts).
   */
  readonly #lock = new KeyedMutex();

  constructor(private readonly d: IdentityKeeperDeps) {}

  /** The identity in force; undefined only before start() (callers run after it). */
  get current(): StoredIdentity {
    return this.#identity!;
  }

  get removedNodeIds(): string[] {
    return [...this.#removed];
  }

  /** Renewals installed since this process started. */
  get renewals(): number {
    return this.#renewals;
  }

  /**
   * The first identity of this process: loaded from the state dir (already on disk: starting must not need a
   * write, a full disk would stop a node that holds a perfectly good certificate) or just obtained by a join.
   */
  start(id: StoredIdentity, loaded: boolean): Promise<void> {
    this.#removed = new Set(id.removedNodeIds ?? []);
    return this.#install(id, 'start', { persist: !loaded });
  }

  /** What the node service checks a caller against (agent/peer-auth.ts). */
  trustView(): TrustView {
    const id = this.current;
    return {
      clusterId: id.clusterId,
      rootsPem: id.bundle.rootsPem,
      // Our own chain's cross-sign too: a peer renewed under a new root presents [leaf, cross-sign] and TLS
      // accepted it through the cross-sign; the call's check must reach the same verdict even when we hold
      // the cross-sign only in our own chain (we renewed under the new root, our bundle not yet updated).
      crossSignedPem: [...new Set([...id.bundle.crossSignedPem, ...id.chainPem.slice(1)])],
      removedNodeIds: this.#removed,
    };
  }

  /**
   * Installs a renewal's certificate, built on the identity as it is now (a bundle may have been installed while
   * the call was out) and before any other identity change starts; then a bundle that waited for it.
   */
  async installRenewal(issued: IssuedCertificate__Output, privateKeyPem: string): Promise<void> {
    await this.#exclusive(async () => {
      const now = this.d.clock.now();
      const current = this.current;
      let next: StoredIdentity;
      try {
        next = await identityFromIssued(issued, privateKeyPem, current.bundle, now, current);
      } catch (err) {
        // A node that slept through a root rotation gets a certificate of a root it does not know yet. The
        // response arrived over TLS that verified the CA against our current roots, so its bundle is the CA's
        // word: adopt it if, and only if, the new certificate verifies against it.
        const b = issued.bundle;
        if (!b) throw err;
        const offered = { rootsPem: b.roots_pem, crossSignedPem: b.cross_signed_pem, version: Number(b.version) };
        next = await identityFromIssued(issued, privateKeyPem, offered, now, current);
        this.d.log.warn('trust_bundle.adopted_from_renewal', { version: offered.version });
      }
      await this.#install(next, 'renewal');
    });
    if (this.#pendingBundle && this.#pendingBundle.version > this.current.bundle.version) {
      const pending = this.#pendingBundle;
      this.#pendingBundle = undefined;
      await this.#applyBundle(pending);
    }
  }

  /** What the CA's watch pushed: the removed-node list and the trust bundle (either may be unchanged). */
  async trustPushed(removedNodeIds: readonly string[], bundle: TrustBundle | undefined): Promise<void> {
    const { log } = this.d;
    const removed = new Set(removedNodeIds);
    const removedChanged = removed.size !== this.#removed.size || [...removed].some((id) => !this.#removed.has(id));
    if (removedChanged) {
      this.#removed = removed;
      const evicted = this.d.registry.evict(removed, log);
      log.info('removed_nodes.updated', { removed: [...removed], evictedStreams: evicted });
    }
    if (bundle && bundle.version !== this.current.bundle.version) {
      await this.#applyBundle(bundle);
    } else if (removedChanged) {
      await this.#exclusive(() => this.d.store.save({ ...this.current, removedNodeIds: [...removed] }));
    }
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.#lock.run('identity', fn);
  }

  /**
   * Adopts a bundle pushed by the CA — unless our own certificate does not verify against it (we would lock
   * ourselves out): then we renew first and apply it after the renewal.
   */
  #applyBundle(bundle: TrustBundle): Promise<void> {
    return this.#exclusive(() => this.#applyBundleNow(bundle));
  }

  async #applyBundleNow(bundle: TrustBundle): Promise<void> {
    const { log, clock } = this.d;
    // Another change may have installed this bundle (a renewal that adopted it) while this one waited.
    if (bundle.version === this.current.bundle.version) return;
    const [leaf, ...tail] = this.current.chainPem;
    const verdict = await verifyChain({ leaf: leaf!, intermediates: [...tail, ...bundle.crossSignedPem], roots: bundle.rootsPem, at: clock.now() });
    if (!verdict.ok) {
      log.warn('trust_bundle.deferred', { version: bundle.version, reason: verdict.detail, action: 'renewing first' });
      this.#pendingBundle = bundle;
      this.d.renewNow('bundle-deferred');
      return;
    }
    this.#pendingBundle = undefined;
    await this.#install({ ...this.current, bundle }, 'trust-bundle');
    log.info('trust_bundle.updated', { version: bundle.version, roots: bundle.rootsPem.length, serial: this.current.serial });
  }

  /** Validate, persist, publish to every server and channel of this process, export for workloads. */
  async #install(next: StoredIdentity, reason: string, opts: { persist?: boolean } = {}): Promise<void> {
    const { provider, clock, log } = this.d;
    const previous = this.#identity;
    // Throws before anything changes if key/cert/bundle do not form a usable TLS context.
    provider.validate({ chainPem: next.chainPem, keyPem: next.keyPem, trustPem: next.bundle.rootsPem });
    next.removedNodeIds = [...this.#removed];
    if (opts.persist !== false) await this.d.store.save(next);
    // Evidence first: a connection accepted from now on may be served with the new certificate.
    this.d.live.noteRoots(next.bundle.rootsPem);
    this.d.live.noteOwn(next.chainPem[0]!, clock.now().getTime());
    provider.update({ chainPem: next.chainPem, keyPem: next.keyPem, trustPem: next.bundle.rootsPem });
    this.#identity = next;
    // Streams we serve whose certificate no longer chains to our new bundle are asked to refresh and ended
    // after the grace (agent/node-service.ts): none runs on a root we stopped trusting.
    if (previous && previous.bundle.version !== next.bundle.version) {
      void this.d.registry.recheck(this.trustView(), clock, log).catch((err: unknown) => log.error('heartbeat.recheck_failed', { err }));
    }
    // Streams we serve run on connections made with our previous certificate: ask their clients to move.
    if (previous && previous.serial !== next.serial) this.d.registry.refreshAll();
    if (reason === 'renewal') this.#renewals++;
    if (previous?.serial !== next.serial) {
      log.info(reason === 'start' ? 'identity.ready' : 'identity.renewed', {
        nodeId: next.nodeId,
        role: next.role,
        serial: next.serial,
        previousSerial: previous?.serial,
        notAfter: next.notAfter,
        renewals: this.#renewals,
      });
    }
    if (this.d.certOut) {
      await writeCertOut(this.d.certOut, next, log);
      if (this.d.onRotate && reason !== 'start') {
        void runOnRotate(this.d.onRotate, { HITLESS_CERT_DIR: this.d.certOut, HITLESS_SERIAL: next.serial }, log);
      }
    }
    this.d.installed(next);
  }
}
