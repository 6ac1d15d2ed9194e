// The agent's lifecycle: obtain an identity (stored, or join with a token), feed it to the process's single
// certificate provider, serve the node service, keep peer links and the CA watch open, and renew before
// expiry. Every credential change goes through agent/identity-keeper.ts: validate → persist → publish → export.
import { EventEmitter } from 'node:events';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import { HitlessError } from '../shared/errors.js';
import { MemoryCertificateProvider } from '../shared/grpc/certificate-provider.js';
import { maxConnectionAgeMs } from '../shared/connection-age.js';
import { generateKeyPairPem } from '../shared/pki/keys.js';
import { parseCertificate } from '../shared/pki/certs.js';
import { createCsrDer } from '../shared/pki/csr.js';
import { BoundedServer } from '../shared/grpc/bounded-server.js';
import { NODE_PORT_LIMITS, resolveLimits, type ServerLimits } from '../shared/grpc/limits.js';
import { applyTlsPolicy, type TlsMinVersion } from '../shared/grpc/tls-policy.js';
import { protos, type WatchTrustBundleEvent__Output } from '../proto/load.js';
import { IdentityStore, type StoredIdentity } from './identity-store.js';
import { joinCluster } from './bootstrap.js';
import { CaClient, providerConnection } from './ca-client.js';
import { CaFailover } from './ca-failover.js';
import type { AgentStatus } from './agent-status.js';
import { classifyCaFailure, type CaStart } from './ca-endpoints.js';
import { Renewer } from './renewer.js';
import { isExpired } from './renewal-schedule.js';
import { CaWatch } from './ca-watch.js';
import { GENERATION_OPTION } from '../shared/grpc/refreshing-stream.js';
import { PeerLink } from './peer-link.js';
import { NodeServiceRegistry, nodeServiceHandlers } from './node-service.js';
import { startStatusServer } from './status-server.js';
import { metrics } from '../shared/metrics.js';
import { startMetricsServer } from '../shared/metrics-http.js';
import { agentSnapshot } from './metrics-view.js';
import { HealthReporter } from '../shared/grpc/health.js';
import { crashIfAt, saveDelay, type TestHooks } from './test-hooks.js';
import { clockSkewMs, localLifetime } from './skew.js';
import { setClientKeepalive, type ClientKeepalive } from '../shared/grpc/keepalive.js';
import { unaryCall } from '../shared/grpc/call.js';
import { LiveCredentials, EvidenceReporter, type EvidenceReport } from './live-credentials.js';
import { IdentityKeeper } from './identity-keeper.js';

export interface AgentOptions {
  /**
   * Addresses of ca serve (replicas of one cluster), in order of preference, as parseCaAddresses
   * (agent/ca-endpoints.ts) returns them. The agent stays on one until it fails, then moves to the next.
   */
  caAddresses: readonly string[];
  /** Begin with the first address, or with one picked at random (spreads a fleet over replicas). @default 'first' */
  caStart?: CaStart;
  token?: string;
  stateDir: string;
  listen: string;
  peers: string[];
  certOut?: string;
  onRotate?: string;
  /** @default 1000 */
  heartbeatIntervalMs: number;
  /** @default 1000 */
  probeIntervalMs: number;
  /** HOST:PORT for the Prometheus `/metrics` endpoint; off when absent. */
  metricsListen?: string;
  /** Node service GOAWAY age. @default a tenth of the certificate lifetime, at most 30m (shared/connection-age.ts) */
  maxConnectionAgeMs?: number;
  /** Overrides of the node port's resource limits (defaults: NODE_PORT_LIMITS in shared/grpc/limits.ts). */
  limits?: Partial<ServerLimits>;
  /** @default '1.3' */
  tlsMinVersion?: TlsMinVersion;
  /** Client keepalive of the agent's channels (shared/grpc/keepalive.ts). @default 10s / 5s */
  keepalive?: Partial<ClientKeepalive>;
  /** Test-only fault hooks (agent/test-hooks.ts); never set in production. */
  testHooks?: TestHooks;
}

export class NodeAgent extends EventEmitter {
  readonly provider = new MemoryCertificateProvider();
  readonly #store: IdentityStore;
  readonly #registry = new NodeServiceRegistry();
  readonly #identity: IdentityKeeper;
  #server: BoundedServer | undefined;
  #port = 0;
  #renewer!: Renewer;
  #watch!: CaWatch;
  #peers: PeerLink[] = [];
  #status: { close(): Promise<void> } | undefined;
  #metricsServer: { close(): Promise<void> } | undefined;
  readonly #health: HealthReporter;
  readonly #ca: CaFailover;
  readonly #stopping = new AbortController();
  #renewalWaitsForCa = false;
  #renewing = false;
  readonly #live = new LiveCredentials();
  #reporter: EvidenceReporter | undefined;
  /** Watch streams established after a failure (not refreshes): each may face a CA without our evidence. */
  #caSessions = 0;

  constructor(
    private readonly options: AgentOptions,
    private readonly deps: { clock: Clock; log: Logger; random?: () => number },
  ) {
    super();
    // The identity write's steps are crash points of a renewal only (the fault campaign's "middle of the write").
    this.#store = new IdentityStore(options.stateDir, {
      afterStep: (step) => this.#renewing && crashIfAt(options.testHooks, step),
      beforeSave: saveDelay(options.testHooks, deps),
    });
    this.#health = new HealthReporter(['hitless.v1.NodeService'], deps.log);
    this.#ca = new CaFailover(options.caAddresses, deps, options.caStart);
    this.#identity = new IdentityKeeper({
      provider: this.provider,
      store: this.#store,
      registry: this.#registry,
      live: this.#live,
      clock: deps.clock,
      log: deps.log,
      certOut: options.certOut,
      onRotate: options.onRotate,
      renewNow: (reason) => this.#renewer.renewNow(reason),
      installed: (next) => {
        this.emit('identity', next);
        this.#reporter?.poke();
      },
    });
  }

  get identity(): StoredIdentity {
    return this.#identity.current;
  }

  async start(): Promise<void> {
    const { clock, log } = this.deps;
    // Before any connection (the join is one): a bad limit flag fails here, and every TLS context is 1.3-only.
    const limits = resolveLimits(NODE_PORT_LIMITS, this.options.limits);
    applyTlsPolicy(this.options.tlsMinVersion);
    setClientKeepalive(this.options.keepalive ?? {});
    const leftovers = await this.#store.recover();
    if (leftovers.length) log.warn('identity.recovered', { removedTempFiles: leftovers });
    let id = await this.#store.load();
    let loaded = false;
    if (id && isExpired({ notAfter: new Date(id.notAfter) }, clock.now())) {
      if (!this.options.token) {
        throw new HitlessError('CERT_EXPIRED', `the node certificate in ${this.#store.file} expired at ${id.notAfter}; it cannot be renewed`, {
          hint: "re-join: run the agent again with --token-file <file> or HITLESS_JOIN_TOKEN ('ca join-token worker' on the CA host); the node gets a new id",
        });
      }
      log.warn('identity.expired_rejoining', { nodeId: id.nodeId, notAfter: id.notAfter });
      id = undefined;
    }
    if (!id) {
      if (!this.options.token) {
        throw new HitlessError('INVALID_ARGUMENT', `no node identity in ${this.options.stateDir} and no join token to join with`, {
          hint: "pass --token-file <file> (or - for stdin) or set HITLESS_JOIN_TOKEN, with a token from 'ca join-token worker' on the CA host, for the first start",
        });
      }
      id = await joinCluster(this.#ca, this.options.token, this.deps);
    } else {
      loaded = true;
      log.info('identity.loaded', { nodeId: id.nodeId, serial: id.serial, notAfter: id.notAfter });
    }
    await this.#identity.start(id, loaded);

    await this.#startServer(limits);
    this.#status = await startStatusServer(this.options.stateDir, () => this.status());
    metrics.observeAgent(() => agentSnapshot(this.status()));
    if (this.options.metricsListen) this.#metricsServer = await startMetricsServer(this.options.metricsListen, log);

    this.#renewer = new Renewer({
      clock,
      log,
      random: this.deps.random,
      // On our clock: a skewed clock still renews inside the window of the certificate's real lifetime.
      current: () => localLifetime(this.#identity.current),
      renew: () => this.renewOnce(),
    });
    // A renewal that failed for want of a reachable CA waits out its backoff (up to a minute) unless a CA is
    // seen again first: the watch reconnecting says one answers, so the renewal goes now. The watches' jittered
    // reconnects spread these renewals after an outage like the reconnects themselves.
    this.#renewer.on('renewal-failed', (err: unknown) => (this.#renewalWaitsForCa = classifyCaFailure(err) === 'transport'));
    this.#renewer.on('renewed', () => (this.#renewalWaitsForCa = false));
    this.#renewer.on('expired', () => {
      this.#health.set('NOT_SERVING');
      this.emit('expired');
    });
    this.#renewer.start();
    log.info('renewal.scheduled', { at: this.#renewer.nextRenewalAt });
    if (this.options.testHooks?.renewAtStart) this.#renewer.renewNow('test-hook');

    this.#watch = new CaWatch({
      connect: (generation, address) => {
        const conn = providerConnection(this.provider);
        return new CaClient(address, { ...conn, options: { ...conn.options, [GENERATION_OPTION]: generation } }).raw;
      },
      failover: this.#ca,
      provider: this.provider,
      knownVersion: () => this.#identity.current.bundle.version,
      onEvent: (e) => this.#onWatchEvent(e),
      onConnected: () => {
        // A watch after a failure (or the first): the CA may be a restarted one that lost our evidence.
        this.#caSessions++;
        this.#reporter?.poke();
        if (this.#renewalWaitsForCa && this.#renewer.state === 'backing-off') this.#renewer.renewNow('ca-reachable');
      },
      clock,
      log,
    });
    this.#watch.start();

    this.#peers = this.options.peers.map(
      (address) =>
        new PeerLink({
          address,
          provider: this.provider,
          clusterId: () => this.#identity.current.clusterId,
          clock,
          log,
          heartbeatIntervalMs: this.options.heartbeatIntervalMs,
          probeIntervalMs: this.options.probeIntervalMs,
        }),
    );
    for (const p of this.#peers) p.start();

    // Rotation evidence: every live connection and stream, both sides, both ends' certificates.
    for (const p of this.#peers) this.#live.addSource(() => p.liveUses());
    this.#live.addSource(() =>
      this.#watch.liveLegs().map((leg) => ({ what: `ca watch (${leg.state})`, side: 'client' as const, own: leg.ownCertificatePem, peer: leg.peerCertificateDer })),
    );
    this.#live.addSource(() =>
      (this.#server?.guard.connections() ?? []).map((c) => ({ what: 'node port connection', side: 'server' as const, own: this.#live.ownAt(c.acceptedAt), peer: c.peerCertificate })),
    );
    this.#reporter = new EvidenceReporter({
      live: this.#live,
      clock,
      log,
      bundleVersion: () => this.#identity.current.bundle.version,
      caSession: () => (this.#watch.connected ? this.#caSessions : undefined),
      send: (r) => this.#sendEvidence(r),
    });
    this.#reporter.start();
  }

  /**
   * One ReportLiveCredentials call to the CA our watch is connected to (the CA keeps evidence in memory, beside
   * the watch it acknowledges), on the watch's own connection: the watch moves to a new connection with our new
   * certificate after a renewal or bundle change anyway, so the report costs the CA no handshake of its own
   * (at 10,000 nodes that is 10,000 handshakes less per rotation step). The CA authenticates it as it would on
   * a connection of its own: the certificate of that connection's handshake, which the clean report itself
   * attests is not of the old root (the watch's legs are among the uses it covers). Only when the watch's
   * channel cannot carry it (UNAVAILABLE or no answer in time: its connection just went away) does it go on a connection of its own,
   * closed after (it is not live evidence itself).
   */
  async #sendEvidence(r: EvidenceReport): Promise<void> {
    const request = { bundle_version: String(r.bundleVersion), issuer_root_fingerprints: r.roots };
    const watch = this.#watch.current;
    if (watch) {
      try {
        await unaryCall((o, cb) => watch.client.ReportLiveCredentials(request, o, cb), 10_000);
        return;
      } catch (err) {
        if (classifyCaFailure(err) !== 'transport') throw err;
        this.deps.log.info('evidence.watch_connection_unavailable', { err, hint: 'sending the report on a connection of its own' });
      }
    }
    const ca = new CaClient(watch?.address ?? this.#watch.address ?? this.#ca.current, providerConnection(this.provider));
    try {
      await unaryCall((o, cb) => ca.raw.ReportLiveCredentials(request, o, cb), 10_000);
    } finally {
      ca.close();
    }
  }

  async #startServer(limits: ServerLimits): Promise<void> {
    const lifetime = Date.parse(this.identity.notAfter) - Date.parse(this.identity.issuedAt);
    // An override may shorten the age, never lengthen it: the CA's root rotation waits for connections to
    // cycle at the default age (ttl/4), so a longer one could outlive the old root on a live connection.
    const maxAge = Math.min(this.options.maxConnectionAgeMs ?? Infinity, maxConnectionAgeMs(lifetime));
    const bounded = new BoundedServer(limits, { clock: this.deps.clock, log: this.deps.log, port: 'node' }, { 'grpc.max_connection_age_ms': maxAge });
    bounded.server.addService(
      protos().node.hitless.v1.NodeService.service,
      nodeServiceHandlers({
        trust: () => this.#identity.trustView(),
        self: () => this.#identity.current,
        clock: this.deps.clock,
        log: this.deps.log,
        registry: this.#registry,
        servedWithSuperseded: (call) => {
          const acceptedAt = this.#server?.guard.acceptedAt(call.getPeer());
          return acceptedAt !== undefined && this.#live.ownAt(acceptedAt) !== this.#identity.current.chainPem[0];
        },
      }),
    );
    // Client certificates are requested, not required, so that gRPC health answers callers without one; every
    // node-service call still requires a node certificate of this cluster (agent/peer-auth.ts). A connection
    // that never carries a call with one is closed after --unauthenticated-timeout (shared/grpc/limits.ts).
    this.#health.addTo(bounded.server);
    this.#port = await bounded.listen(this.options.listen, this.provider.serverCredentials(false));
    this.#server = bounded;
    // SERVING while we hold an unexpired identity (we do: it was installed before the server started).
    this.#health.set('SERVING');
    this.deps.log.info('agent.listening', { port: this.#port, nodeId: this.identity.nodeId, maxConnectionAgeMs: maxAge });
  }

  /**
   * One renewal: fresh key on this node, CSR, mTLS call with the current certificate, install. The call goes
   * on a connection of its own, made now: the CA accepts renewals only from a node's newest certificate (and
   * the one before it until the newest is seen in use), so a pooled connection made with an older certificate
   * would be refused and reported as a possible key compromise.
   */
  async renewOnce(): Promise<void> {
    this.#renewing = true;
    try {
      await this.#renewOnce();
    } finally {
      this.#renewing = false;
    }
  }

  async #renewOnce(): Promise<void> {
    const hooks = this.options.testHooks;
    // No certificate is asked for that could not be saved (disk full, read-only state dir).
    await this.#store.checkWritable(this.identity);
    const { privateKeyPem } = generateKeyPairPem();
    crashIfAt(hooks, 'before-csr');
    const csrDer = await createCsrDer(privateKeyPem);
    const bundleVersion = this.identity.bundle.version;
    const issued = await this.#ca.call('renew', async (address) => {
      const ca = new CaClient(address, providerConnection(this.provider));
      try {
        return await ca.renew(csrDer, bundleVersion);
      } finally {
        ca.close();
      }
    }, this.#stopping.signal);
    crashIfAt(hooks, 'after-response');
    await this.#identity.installRenewal(issued, privateKeyPem);
  }

  async #onWatchEvent(e: WatchTrustBundleEvent__Output): Promise<void> {
    const b = e.bundle;
    const bundle = b ? { rootsPem: b.roots_pem, crossSignedPem: b.cross_signed_pem, version: Number(b.version ?? 0) } : undefined;
    await this.#identity.trustPushed(e.removed_node_ids, bundle);
    if (e.renew_requested) this.#renewer.renewNow('ca-request');
  }

  status(): AgentStatus {
    const id = this.identity;
    return {
      nodeId: id.nodeId,
      role: id.role,
      clusterId: id.clusterId,
      serial: id.serial,
      issuedAt: id.issuedAt,
      notAfter: id.notAfter,
      nextRenewalAt: this.#renewer?.nextRenewalAt?.toISOString(),
      clockSkewMs: clockSkewMs(id),
      renewer: this.#renewer?.state ?? 'stopped',
      renewals: this.#identity.renewals,
      failedAttempts: this.#renewer?.failedAttempts ?? 0,
      trustBundle: { version: id.bundle.version, roots: id.bundle.rootsPem.map((p) => `sha256:${parseCertificate(p).fingerprint}`) },
      caWatchConnected: this.#watch?.connected ?? false,
      ca: { ...this.#ca.status(), watchAddress: this.#watch?.address },
      removedNodeIds: this.#identity.removedNodeIds,
      listen: { port: this.#port },
      peers: this.#peers.map((p) => ({ ...p.counters })),
      liveCredentials: {
        ...this.#live.view(),
        reportsSent: this.#reporter?.reportsSent ?? 0,
        reportFailures: this.#reporter?.reportFailures ?? 0,
        lastReport: this.#reporter?.lastReport,
        lastReportError: this.#reporter?.lastError,
      },
    };
  }

  async stop(): Promise<void> {
    this.#health.stopping();
    await this.#reporter?.stop();
    // The renewer is told first, so the failure of a renewal cut short below is not counted as one. A renewal
    // touring unreachable CA addresses would go on to the next (up to 10 s each, past the 15 s stop bound).
    const renewerStopped = this.#renewer?.stop();
    this.#stopping.abort();
    await renewerStopped;
    await this.#watch?.stop();
    await Promise.allSettled(this.#peers.map((p) => p.stop()));
    await this.#status?.close();
    await this.#metricsServer?.close();
    await this.#server?.stop(2_000);
  }
}
