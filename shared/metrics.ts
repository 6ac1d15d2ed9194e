// Prometheus metrics (prom-client). One registry per process: a daemon is one process, and `/metrics`
// (shared/metrics-http.ts, `--metrics-listen`) serves the registry `metrics.load()` resolves to. Code that counts something imports
// the `metrics` object below; tests read deltas (`await counterValue(...)`) rather than absolute values, since
// the registry lives as long as the test process.
//
// Names follow Prometheus conventions: `hitless_` prefix, base units, `_total` for counters, `_seconds`,
// `_timestamp_seconds` for instants. Add a metric here (one place to see them all, one place for help texts)
// and document it in the README's "Monitoring" section.
//
// Two kinds of metric:
//  - events (counters, histograms) are counted where they happen, with one-line calls;
//  - state (nodes, expiries, rotation progress, agent identity) is read at scrape time from a snapshot the
//    daemon registers (`observeCa`, `observeAgent`): nothing to keep in sync, and it costs nothing between
//    scrapes. Label values are bounded: roles, states, error codes, root fingerprints, configured peers.
//
// prom-client itself is loaded only by `load()` (the /metrics listener calls it): until then every metric is a
// small recorder (shared/lazy-metrics.ts), so an agent without `--metrics-listen` never loads prom-client.
import type { Gauge, Registry } from 'prom-client';
import type { Logger } from './log.js';
import { LazyCounter, LazyGauge, LazyHistogram, SnapshotGauge, type Bindable, type LabelValues, type PromClient } from './lazy-metrics.js';

/** What the CA exposes at scrape time (ca/metrics-view.ts builds it from the in-memory records). */
export interface CaSnapshot {
  /** Node records by role and state (active: certificate valid; expired; removed: tombstone). */
  nodes: { role: string; state: 'active' | 'expired' | 'removed'; count: number }[];
  /** Roots in the trust bundle, with their certificate's notAfter. */
  roots: { fingerprint: string; notAfterMs: number }[];
  /** The CA server's own TLS certificate. */
  serverCertNotAfterMs?: number;
  /** Roots retired by a finished rotation, accepted for renewal until `untilMs`; `nodes` still hold a certificate of theirs. */
  retired: { fingerprint: string; untilMs: number; nodes: number }[];
  rotation: {
    phase: 'idle' | 'rotating' | 'aborting';
    converged: boolean;
    startedAtMs?: number;
    nodesTotal: number;
    nodesReissued: number;
    bundlesAcknowledged: number;
    blockers: { reason: string; count: number }[];
  };
}

/** What an agent exposes at scrape time (built from its status in agent/node-agent.ts). */
export interface AgentSnapshot {
  notAfterMs: number;
  nextRenewalMs?: number;
  consecutiveFailures: number;
  bundleVersion: number;
  roots: number;
  caWatchConnected: boolean;
  /** The CA address in use and every address the agent was given (agent/ca-failover.ts). */
  ca: { address: string; addresses: string[] };
  peers: { address: string; connected: boolean; maxGapMs: number }[];
}

export const ISSUANCE_KINDS = ['join', 'renewal'] as const;
export type IssuanceKind = (typeof ISSUANCE_KINDS)[number];

const seconds = (ms: number) => ms / 1000;

export class Metrics {
  #prom: PromClient | undefined;
  #registry: Registry | undefined;
  #loading: Promise<Registry> | undefined;
  #ca: (() => Promise<CaSnapshot>) | undefined;
  #agent: (() => AgentSnapshot) | undefined;
  /** One snapshot per scrape: every collect() of one `registry.metrics()` call shares it. */
  #caScrape: Promise<CaSnapshot> | undefined;
  #defaults = false;
  /** Metrics of one daemon kind, registered when that daemon starts observing (a CA's /metrics shows no agent series). */
  readonly #shared: Bindable[] = [];
  readonly #caMetrics: Bindable[] = [];
  readonly #agentMetrics: Bindable[] = [];

  // ---- both daemons ----

  /**
   * Every resource bound that triggered (connections per source, message size, call deadline, …), by the
   * limit's stable name. Pair each increment with a `limit.exceeded` log event: use `limitExceeded()`.
   */
  readonly limitRejections = this.#forAll(
    new LazyCounter({
      name: 'hitless_limit_rejections_total',
      help: 'Requests, streams or connections refused or closed because a resource bound was reached, by limit.',
      labelNames: ['limit'] as const,
    }),
  );

  /** Server streams ended at their bound (shared/grpc/stream-bound.ts), by service and error code. */
  readonly streamBoundEnds = this.#forAll(
    new LazyCounter({
      name: 'hitless_stream_bound_ends_total',
      help: 'Server streams ended because the certificate that authenticated them expired or stopped being trusted (the client did not refresh), by service (node|ca) and reason (CERT_EXPIRED|UNTRUSTED_PEER).',
      labelNames: ['service', 'reason'] as const,
    }),
  );

  /** Client streams moved to a fresh connection (shared/grpc/refreshing-stream.ts), by stream and trigger. */
  readonly streamRefreshes = this.#forAll(
    new LazyCounter({
      name: 'hitless_stream_refreshes_total',
      help: 'Long-lived client streams moved make-before-break to a new connection with current credentials, by stream (peer|ca_watch) and trigger (own-credentials|server-request|peer-expiry|own-expiry|connection-draining).',
      labelNames: ['stream', 'trigger'] as const,
    }),
  );

  /**
   * Replacement streams dropped before they carried traffic (shared/grpc/refreshing-stream.ts): refused, failed,
   * or not confirmed within CONFIRM_WITHIN_MS (DEADLINE_EXCEEDED). The stream in use carried on; retried.
   */
  readonly streamRefreshFailures = this.#forAll(
    new LazyCounter({
      name: 'hitless_stream_refresh_failures_total',
      help: 'Replacement streams of a make-before-break move that failed before carrying traffic (the old stream carried on; retried with backoff), by stream (peer|ca_watch) and gRPC status code name.',
      labelNames: ['stream', 'code'] as const,
    }),
  );

  // ---- CA: events ----

  readonly caJoins = this.#forCa(
    new LazyCounter({
      name: 'hitless_ca_joins_total',
      help: 'Join requests (first certificate for a new node), by result (issued|refused) and refusal reason (error code).',
      labelNames: ['result', 'reason'] as const,
    }),
  );

  readonly caRenewals = this.#forCa(
    new LazyCounter({
      name: 'hitless_ca_renewals_total',
      help: 'Renewal requests, by result (issued|refused) and refusal reason (error code).',
      labelNames: ['result', 'reason'] as const,
    }),
  );

  readonly caIssuanceSeconds = this.#forCa(
    new LazyHistogram({
      name: 'hitless_ca_issuance_duration_seconds',
      help: 'Time from receiving a join or renewal request to its certificate being durably recorded, by kind.',
      labelNames: ['kind'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    }),
  );

  readonly caWatchStreams = this.#forCa(
    new LazyGauge({
      name: 'hitless_ca_watch_streams',
      help: 'Open WatchTrustBundle streams (authenticated nodes connected to the CA).',
    }),
  );

  readonly caStoreCommitSeconds = this.#forCa(
    new LazyHistogram({
      name: 'hitless_ca_store_commit_duration_seconds',
      help: 'Duration of one synced store batch (group commit): write plus fsync.',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    }),
  );

  readonly caLeader = this.#forCa(
    new LazyGauge({
      name: 'hitless_ca_leader',
      help: 'Replicas on etcd: 1 on the replica that leads (rotation steps, pruning), 0 on the others. 0 on the embedded store (no election).',
    }),
  );
  readonly caStoreAvailable = this.#forCa(
    new LazyGauge({
      name: 'hitless_ca_store_available',
      help: 'Whether the store can take a write: on etcd 0 while quorum reads fail (health says NOT_SERVING then), 1 otherwise. Always 1 on the embedded store.',
    }),
  );
  readonly caRotationTransitions = this.#forCa(
    new LazyCounter({
      name: 'hitless_ca_root_rotation_transitions_total',
      help: 'Root rotation steps taken, by step (started|aborting|forced|converged|finished|aborted).',
      labelNames: ['step'] as const,
    }),
  );

  // ---- CA: state, read from the snapshot at scrape time ----

  readonly caNodes = this.#caGauge('hitless_ca_nodes', 'Node records, by role and state (active|expired|removed).', ['role', 'state'], (g, s) => {
    for (const n of s.nodes) g.set({ role: n.role, state: n.state }, n.count);
  });

  readonly caRootExpiry = this.#caGauge(
    'hitless_ca_root_expiry_timestamp_seconds',
    'notAfter of each root in the trust bundle (two during a rotation), by SHA-256 fingerprint.',
    ['fingerprint'],
    (g, s) => {
      for (const r of s.roots) g.set({ fingerprint: r.fingerprint }, seconds(r.notAfterMs));
    },
  );

  readonly caServerCertExpiry = this.#caGauge(
    'hitless_ca_server_cert_expiry_timestamp_seconds',
    "notAfter of the CA server's own TLS certificate (renewed in-process at half its lifetime).",
    [],
    (g, s) => {
      if (s.serverCertNotAfterMs !== undefined) g.set(seconds(s.serverCertNotAfterMs));
    },
  );

  readonly caRetiredRootGraceEnd = this.#caGauge(
    'hitless_ca_retired_root_grace_end_timestamp_seconds',
    'When a root retired by a finished rotation stops being accepted for renewals, by fingerprint.',
    ['fingerprint'],
    (g, s) => {
      for (const r of s.retired) g.set({ fingerprint: r.fingerprint }, seconds(r.untilMs));
    },
  );

  readonly caRetiredRootNodes = this.#caGauge(
    'hitless_ca_retired_root_nodes',
    'Live nodes whose newest certificate was issued under a retired root (they must renew before its grace ends).',
    ['fingerprint'],
    (g, s) => {
      for (const r of s.retired) g.set({ fingerprint: r.fingerprint }, r.nodes);
    },
  );

  readonly caRotationPhase = this.#caGauge(
    'hitless_ca_root_rotation_phase',
    'Root rotation phase: 1 for the current one of idle|rotating|converged|aborting (converged: waiting for connections to cycle).',
    ['phase'],
    (g, s) => {
      const current = s.rotation.phase === 'rotating' && s.rotation.converged ? 'converged' : s.rotation.phase;
      for (const phase of ['idle', 'rotating', 'converged', 'aborting']) g.set({ phase }, phase === current ? 1 : 0);
    },
  );

  readonly caRotationStarted = this.#caGauge(
    'hitless_ca_root_rotation_started_timestamp_seconds',
    'When the root rotation in progress started (absent when idle).',
    [],
    (g, s) => {
      if (s.rotation.startedAtMs !== undefined) g.set(seconds(s.rotation.startedAtMs));
    },
  );

  readonly caRotationNodes = this.#caGauge(
    'hitless_ca_root_rotation_nodes',
    'Live nodes during a rotation: total, reissued (hold a certificate of the target root), acknowledged (hold the new bundle).',
    ['progress'],
    (g, s) => {
      g.set({ progress: 'total' }, s.rotation.nodesTotal);
      g.set({ progress: 'reissued' }, s.rotation.nodesReissued);
      g.set({ progress: 'acknowledged' }, s.rotation.bundlesAcknowledged);
    },
  );

  readonly caRotationBlockers = this.#caGauge(
    'hitless_ca_root_rotation_blockers',
    'Nodes keeping the rotation from completing, by reason (old-certificate|bundle-not-acknowledged).',
    ['reason'],
    (g, s) => {
      for (const reason of ['old-certificate', 'bundle-not-acknowledged']) g.set({ reason }, s.rotation.blockers.find((b) => b.reason === reason)?.count ?? 0);
    },
  );

  // ---- agent: events ----

  readonly agentRenewals = this.#forAgent(
    new LazyCounter({
      name: 'hitless_agent_renewals_total',
      help: "This agent's renewal attempts, by result (ok|failed).",
      labelNames: ['result'] as const,
    }),
  );

  readonly agentCaFailovers = this.#forAgent(
    new LazyCounter({
      name: 'hitless_agent_ca_failovers_total',
      help: 'Moves to another --ca address after a transport failure (unreachable, UNAVAILABLE, deadline), by the operation that failed (bundle|join|renew|watch).',
      labelNames: ['operation'] as const,
    }),
  );

  readonly agentPeerStreamStarts = this.#forAgent(
    new LazyCounter({
      name: 'hitless_agent_peer_stream_starts_total',
      help: 'Heartbeat streams established to a peer (1 over the whole run means the first stream never broke).',
      labelNames: ['peer'] as const,
    }),
  );

  readonly agentPeerStreamErrors = this.#forAgent(
    new LazyCounter({
      name: 'hitless_agent_peer_stream_errors_total',
      help: 'Established heartbeat streams to a peer that later failed (a rotation that is hitless leaves this at 0).',
      labelNames: ['peer'] as const,
    }),
  );

  readonly agentPeerProbes = this.#forAgent(
    new LazyCounter({
      name: 'hitless_agent_peer_probes_total',
      help: 'WhoAmI probes to a peer on fresh connections, by result (ok|failed).',
      labelNames: ['peer', 'result'] as const,
    }),
  );

  // ---- agent: state, read from the snapshot at scrape time ----

  readonly agentCertExpiry = this.#agentGauge('hitless_agent_cert_expiry_timestamp_seconds', "notAfter of this node's current certificate.", [], (g, s) =>
    g.set(seconds(s.notAfterMs)),
  );

  readonly agentNextRenewal = this.#agentGauge(
    'hitless_agent_next_renewal_timestamp_seconds',
    'When the next renewal attempt is scheduled (absent while renewing or stopped).',
    [],
    (g, s) => {
      if (s.nextRenewalMs !== undefined) g.set(seconds(s.nextRenewalMs));
    },
  );

  readonly agentConsecutiveFailures = this.#agentGauge(
    'hitless_agent_renewal_consecutive_failures',
    'Renewal attempts that failed since the last success (0 when the last attempt succeeded).',
    [],
    (g, s) => g.set(s.consecutiveFailures),
  );

  readonly agentBundleVersion = this.#agentGauge('hitless_agent_trust_bundle_version', 'Version of the trust bundle this node holds.', [], (g, s) =>
    g.set(s.bundleVersion),
  );

  readonly agentBundleRoots = this.#agentGauge('hitless_agent_trust_bundle_roots', 'Roots in the trust bundle this node holds (2 during a rotation).', [], (g, s) =>
    g.set(s.roots),
  );

  readonly agentCaWatchConnected = this.#agentGauge('hitless_agent_ca_watch_connected', '1 while the WatchTrustBundle stream to the CA is up.', [], (g, s) =>
    g.set(s.caWatchConnected ? 1 : 0),
  );

  readonly agentCaEndpoint = this.#agentGauge(
    'hitless_agent_ca_endpoint',
    'One series per --ca address: 1 for the address the agent talks to now, 0 for the others.',
    ['address'],
    (g, s) => {
      for (const address of s.ca.addresses) g.set({ address }, address === s.ca.address ? 1 : 0);
    },
  );

  readonly agentPeerConnected = this.#agentGauge('hitless_agent_peer_stream_up', '1 while the heartbeat stream to a peer is established.', ['peer'], (g, s) => {
    for (const p of s.peers) g.set({ peer: p.address }, p.connected ? 1 : 0);
  });

  readonly agentPeerMaxGap = this.#agentGauge(
    'hitless_agent_peer_heartbeat_max_gap_seconds',
    'Largest interval between consecutive heartbeat replies from a peer on one stream, over the run.',
    ['peer'],
    (g, s) => {
      for (const p of s.peers) g.set({ peer: p.address }, seconds(p.maxGapMs));
    },
  );

  /** The CA registers its snapshot source once it serves (ca/commands/serve.ts). */
  observeCa(snapshot: () => Promise<CaSnapshot>): void {
    const first = !this.#ca;
    this.#ca = snapshot;
    if (first) this.#register(this.#caMetrics);
  }

  /** The agent registers its snapshot source once it holds an identity (agent/node-agent.ts). */
  observeAgent(snapshot: () => AgentSnapshot): void {
    const first = !this.#agent;
    this.#agent = snapshot;
    if (first) this.#register(this.#agentMetrics);
  }

  /**
   * Loads prom-client (once) and binds every metric to one registry: the shared ones, and the CA's or the
   * agent's once that daemon observes. What was counted before carries over.
   */
  load(): Promise<Registry> {
    this.#loading ??= import('prom-client').then((prom) => {
      this.#prom = prom;
      this.#registry = new prom.Registry();
      this.#register(this.#shared);
      if (this.#ca) this.#register(this.#caMetrics);
      if (this.#agent) this.#register(this.#agentMetrics);
      return this.#registry;
    });
    return this.#loading;
  }

  /** prom-client's process and Node.js metrics (CPU, memory, handles, event loop lag, GC); once per registry. */
  async enableDefaultMetrics(): Promise<void> {
    const registry = await this.load();
    if (this.#defaults) return;
    this.#defaults = true;
    this.#prom!.collectDefaultMetrics({ register: registry });
  }

  /**
   * Counts one join or renewal by result, and observes its latency when it issued. The request handler wraps
   * the Authority call: the Authority resolves only once the certificate's record is durable.
   */
  async issuance<T>(kind: IssuanceKind, fn: () => Promise<T>): Promise<T> {
    const counter = kind === 'join' ? this.caJoins : this.caRenewals;
    const end = this.caIssuanceSeconds.startTimer({ kind });
    try {
      const out = await fn();
      end();
      counter.inc({ result: 'issued', reason: '' });
      return out;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      counter.inc({ result: 'refused', reason: typeof code === 'string' && /^[A-Z_]{1,40}$/.test(code) ? code : 'INTERNAL' });
      throw err;
    }
  }

  #register(list: Bindable[]): void {
    if (!this.#prom || !this.#registry) return; // load() registers them
    for (const m of list) this.#registry.registerMetric(m.bind(this.#prom));
  }

  #forAll<T extends Bindable>(m: T): T {
    this.#shared.push(m);
    return m;
  }

  #forCa<T extends Bindable>(m: T): T {
    this.#caMetrics.push(m);
    return m;
  }

  #forAgent<T extends Bindable>(m: T): T {
    this.#agentMetrics.push(m);
    return m;
  }

  #caGauge<L extends string>(name: string, help: string, labelNames: L[], fill: (g: Gauge<L>, s: CaSnapshot) => void): SnapshotGauge<CaSnapshot, L> {
    return this.#forCa(new SnapshotGauge<CaSnapshot, L>({ name, help, labelNames }, () => this.#caSnapshot(), fill));
  }

  #agentGauge<L extends string>(name: string, help: string, labelNames: L[], fill: (g: Gauge<L>, s: AgentSnapshot) => void): SnapshotGauge<AgentSnapshot, L> {
    return this.#forAgent(new SnapshotGauge<AgentSnapshot, L>({ name, help, labelNames }, () => this.#agent?.(), fill));
  }

  #caSnapshot(): Promise<CaSnapshot | undefined> {
    if (!this.#ca) return Promise.resolve(undefined);
    if (!this.#caScrape) {
      this.#caScrape = this.#ca();
      // Cleared after this scrape's collect() calls have all started (they run in one Promise.all).
      const clear = () => setImmediate(() => (this.#caScrape = undefined));
      this.#caScrape.then(clear, clear);
    }
    return this.#caScrape;
  }
}

export const metrics = new Metrics();

/**
 * One call for "a bound triggered": a warn-level `limit.exceeded` log line with the limit's name and the
 * given fields, and the counter. Fields must never carry raw attacker input (use `escapedPrefix`).
 */
export function limitExceeded(log: Logger, limit: string, fields: Record<string, unknown> = {}): void {
  metrics.limitRejections.inc({ limit });
  log.warn('limit.exceeded', { limit, ...fields });
}

/** The value of one counter series (the first whose labels include `labels`), for tests and status output. */
export function counterValue<L extends string>(counter: LazyCounter<L>, labels: LabelValues<L> = {}): Promise<number> {
  return counter.value(labels);
}
