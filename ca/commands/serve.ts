// `ca serve`: open the store, unseal the root key, serve NodeCaService + CaAdminService on the TLS port and
// CaAdminService on the local admin socket, until SIGINT/SIGTERM.
import { chmod, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/log.js';
import { HitlessError } from '../../shared/errors.js';
import { formatDuration } from '../../shared/duration.js';
import { protos } from '../../proto/load.js';
import { bindServer, shutdownServer } from '../../shared/grpc/server.js';
import { BoundedServer } from '../../shared/grpc/bounded-server.js';
import { CA_PORT_LIMITS, resolveLimits, type ServerLimits } from '../../shared/grpc/limits.js';
import { applyTlsPolicy, type TlsMinVersion } from '../../shared/grpc/tls-policy.js';
import { LevelStore } from '../store.js';
import type { CaStore } from '../store/records.js';
// etcd3 (with its own copy of grpc-js: ~0.5 s and ~15 MB) loads only for --etcd, not on every embedded CA's start.
import { etcdStoreOptions, type EtcdConnection } from '../store/etcd-options.js';
import { FileRootMaterial, StoreRootMaterial, type RootMaterialStore } from '../root-material.js';
import type { RootKeyAhead } from '../root-key.js';
import { EtcdLeadership, soleLeader, type ElectionOptions, type Leadership } from '../leadership.js';
import { followStore } from '../replica.js';
import { ensurePrivateDir } from '../../shared/fs-atomic.js';
import { readClusterConfig, statePaths, PASSPHRASE_ENV } from '../config.js';
import { maxConnectionAgeMs } from '../../shared/connection-age.js';
import { Authority, type CredentialLimits } from '../authority.js';
import { RotationManager, loadTrust, type RotationOptions } from '../rotation-manager.js';
import { FailureRateLimiter } from '../rate-limiter.js';
import { CsrWorkerPool } from '../csr-pool.js';
import { CaServerIdentity } from '../server-identity.js';
import { nodeCaHandlers } from '../node-ca-service.js';
import { LiveEvidence } from '../live-evidence.js';
import { metrics } from '../../shared/metrics.js';
import { startMetricsServer } from '../../shared/metrics-http.js';
import { caSnapshotSource } from '../metrics-view.js';
import { HealthReporter } from '../../shared/grpc/health.js';
import { StoreAvailability, type StoreAvailabilityOptions } from '../store-availability.js';
import { startPruning } from '../prune-schedule.js';
import { addReflection } from '../../shared/grpc/reflection.js';
import { adminHandlers, localOperator, operatorCertificate } from '../admin-service.js';
import { Operators } from '../operators.js';
import { formatRate } from '../token-policy.js';
import { AuditLog, localActor } from '../audit.js';
import { auditedAdminHandlers } from '../admin-audit.js';

export interface ServeOptions {
  stateDir: string;
  listen: string;
  passphrase: string | undefined;
  /** Shortens the default of a tenth of the node certificate TTL (capped at 30m); it cannot lengthen it. */
  maxConnectionAgeMs?: number;
  rotation?: RotationOptions;
  /** CSR checker threads; default: one per core but one. */
  csrWorkers?: number;
  /** HOST:PORT for the Prometheus `/metrics` endpoint; off when absent. */
  metricsListen?: string;
  /** Overrides of the CA port's resource limits (defaults: CA_PORT_LIMITS in shared/grpc/limits.ts). */
  limits?: Partial<ServerLimits>;
  /** @default '1.3' */
  tlsMinVersion?: TlsMinVersion;
  /** Joins per token and overall, renewals per node (ca/authority.ts CredentialLimits); defaults when omitted. */
  credentialLimits?: CredentialLimits;
  /**
   * Serve a cluster kept in etcd (`ca init --etcd`) as one of several replicas; the state dir then holds only
   * this replica's admin socket and audit log (created when missing).
   */
  etcd?: EtcdConnection;
  /** Leader election lease TTL (seconds) and how often the leader prunes. */
  replica?: ElectionOptions & { pruneEveryMs?: number; availability?: StoreAvailabilityOptions };
  /** The root key's unseal, started before this module loaded (ca/cli.ts); taken if the key is still the same. */
  rootKey?: RootKeyAhead;
}

export interface RunningCa {
  port: number;
  authority: Authority;
  stop(): Promise<void>;
}

/** Whether a process accepts connections on the Unix socket `path` (a stale socket file refuses them). */
function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const cpuMs = (u: NodeJS.CpuUsage) => Math.round((u.user + u.system) / 1000);

/** How long after listening the CSR threads start (unless checks queue up first) and the embedded store prunes. */
const SETTLE_AFTER_START_MS = 2_000;
/** Tombstones of removed nodes and expired join tokens stay this long after they expired. */
const PRUNE_AFTER_EXPIRY_MS = 7 * 24 * 3_600_000;
/** Certificate records stay this long after they expired. */
const PRUNE_CERTS_AFTER_EXPIRY_MS = 3_600_000;
/** How often the CA (the leader replica, on etcd) prunes its store. */
const PRUNE_EVERY_MS = 10 * 60_000;

export async function serveCa(opts: ServeOptions, deps: { clock: Clock; log: Logger }): Promise<RunningCa> {
  const { clock, log } = deps;
  // Both checked before anything is opened: a bad flag changes nothing.
  const limits = resolveLimits(CA_PORT_LIMITS, opts.limits);
  applyTlsPolicy(opts.tlsMinVersion);
  const paths = statePaths(opts.stateDir);
  const etcdOptions = opts.etcd ? await etcdStoreOptions(opts.etcd, log) : undefined;
  const config = etcdOptions ? undefined : await readClusterConfig(paths);
  if (!opts.passphrase) {
    throw new HitlessError('INVALID_ARGUMENT', 'the root key passphrase is required', {
      hint: `pass --passphrase-file <file> or set ${PASSPHRASE_ENV} (ca init printed it, or used the one you gave it)`,
    });
  }
  // The store first: its lock is what makes a second `ca serve` on this directory fail fast and cleanly.
  // (Replicas on etcd: the state dir is this replica's own; etcd holds the cluster.)
  if (etcdOptions) {
    await ensurePrivateDir(opts.stateDir, '--state-dir');
    // No store lock guards a replica's state dir: a live admin socket there means another replica uses it.
    if (await socketAnswers(paths.adminSocket)) {
      throw new HitlessError('STORE_LOCKED', `another 'ca serve' is running with --state-dir ${opts.stateDir} (its admin socket answers)`, {
        hint: 'give each replica its own --state-dir',
      });
    }
  }
  const etcd = etcdOptions ? await (await import('../store/etcd.js')).EtcdStore.open(etcdOptions) : undefined;
  const store: CaStore = etcd ?? (await LevelStore.open(paths.store, { mustExist: true, log }));
  const cleanups: (() => Promise<unknown>)[] = [() => store.close()];
  const unwind = async () => {
    for (const c of cleanups.reverse()) await c().catch((err: unknown) => log.warn('ca.stop_step_failed', { err }));
  };
  try {
    const root: RootMaterialStore = etcd ? new StoreRootMaterial(etcd) : new FileRootMaterial(paths);
    const cluster = config ?? (await root.readConfig());
    let leadership: Leadership = soleLeader;
    const rotationDeps = {
      store,
      clock,
      log,
      root,
      passphrase: opts.passphrase,
      rootKeyAhead: opts.rootKey,
      nodeCertTtlMs: cluster.nodeCertTtlMs,
      backdateMs: cluster.backdateMs,
      isLeader: () => leadership.isLeader(),
    };
    // The root key unseals on libuv's pool (scrypt, ~0.5 s of CPU; ca/cli.ts started it before this module
    // loaded): meanwhile the main thread parses the services' protos, the one sizeable piece of start work that
    // needs no key and changes nothing (a wrong passphrase must still fail before the store or audit log change).
    const trusted = loadTrust(rotationDeps);
    trusted.catch(() => {}); // awaited just below; this only keeps a failure from counting as unhandled meanwhile
    const { nodeCa, caAdmin } = protos();
    const trust = await trusted;

    // What pruning drops (scheduled below): certificate records an hour after they expired (nothing reads an
    // expired one: authentication looks up the unexpired leaf a caller presents), tombstones of removed nodes
    // and expired join tokens after a week (`ca nodes` and `ca join-token list` still show them meanwhile).
    const prune = async () => {
      const now = clock.now().getTime();
      const cutoff = new Date(now - PRUNE_AFTER_EXPIRY_MS);
      const pruned = await store.prune(cutoff, new Date(now - PRUNE_CERTS_AFTER_EXPIRY_MS));
      if (pruned.certs || pruned.nodes) log.info('store.pruned', pruned);
      const prunedTokens = await store.pruneJoinTokens(cutoff);
      if (prunedTokens) log.info('store.pruned', { joinTokens: prunedTokens });
    };

    // The audit log, after the store lock: one CA appends to it. Closed after the servers have stopped.
    const audit = await AuditLog.open(opts.stateDir, clock);
    cleanups.push(() => audit.close());
    await audit.append('ca.started', localActor(), { listen: opts.listen });
    const limiter = new FailureRateLimiter(clock);
    // CSR checks on the other cores (csr-pool.ts), on the main thread until its threads start (after listening);
    // closed after the server has stopped.
    const csr = new CsrWorkerPool(log, opts.csrWorkers);
    cleanups.push(() => csr.close());
    const authority = new Authority({ store, clock, log, config: cluster, trust, limiter, csr, limits: opts.credentialLimits, audit });
    const operators = new Operators({ store, clock, log, clusterId: cluster.clusterId, trust: () => authority.trust });
    if (etcd) {
      // Trust changes and removals made on other replicas reach this one's streams (ca/replica.ts).
      const unfollow = followStore({ store: etcd, authority, loadTrust: () => loadTrust(rotationDeps), log });
      cleanups.push(async () => unfollow());
    }
    const l = authority.limits;
    log.info('ca.credential_limits', { joinsPerToken: formatRate(l.joinsPerToken), joinsOverall: formatRate(l.joinsOverall), renewalsPerNode: formatRate(l.renewalsPerNode) });
    const identity = new CaServerIdentity({ authority, clock, log, backdateMs: cluster.backdateMs });
    await identity.start();
    cleanups.push(() => identity.stop());

    // Never longer than the default: a longer age lets connections outlive the certificates they were made with.
    const maxAgeMs = Math.min(opts.maxConnectionAgeMs ?? Infinity, maxConnectionAgeMs(cluster.nodeCertTtlMs));
    // The rotation must outwait every connection made with an old-root certificate: ours (maxAgeMs) and the
    // agents' among themselves (the default age for the node cert TTL, which agents never exceed).
    const cycleAgeMs = Math.max(maxAgeMs, maxConnectionAgeMs(cluster.nodeCertTtlMs));
    const evidence = new LiveEvidence();
    const rotation = new RotationManager({ ...rotationDeps, authority, evidence, maxConnectionAgeMs: cycleAgeMs }, opts.rotation);
    rotation.start();
    cleanups.push(() => rotation.stop());

    // No max_connection_age_grace: streams opened before the GOAWAY may run as long as they like.
    const bounded = new BoundedServer(limits, { clock, log, port: 'ca' }, { 'grpc.max_connection_age_ms': maxAgeMs });
    const server = bounded.server;
    server.addService(nodeCa.hitless.v1.NodeCaService.service, nodeCaHandlers(authority, log, clock, evidence));
    server.addService(caAdmin.hitless.v1.CaAdminService.service, auditedAdminHandlers(adminHandlers({ authority, rotation, operators, clock, log }, operatorCertificate(operators)), audit, { kind: 'tls' }, log));
    // requireClientCert=false: joins come without a certificate on the same port. A certificate that does
    // not verify is then indistinguishable from none (see shared/grpc/peer.ts).
    // Health and reflection need no client certificate; hitless methods authorize per call as before.
    const health = new HealthReporter(['hitless.v1.NodeCaService', 'hitless.v1.CaAdminService'], log);
    health.addTo(server);
    addReflection(server, ['hitless/v1/node_ca.proto', 'hitless/v1/ca_admin.proto']);
    const port = await bounded.listen(opts.listen, identity.provider.serverCredentials(false));
    cleanups.push(() => {
      authority.emit('closing');
      return bounded.stop(5_000);
    });

    // Only now that we hold the store lock is any admin.sock here stale and safe to replace.
    await unlink(paths.adminSocket).catch(() => {});
    const admin = new grpc.Server();
    admin.addService(caAdmin.hitless.v1.CaAdminService.service, auditedAdminHandlers(adminHandlers({ authority, rotation, operators, clock, log }, localOperator), audit, { kind: 'socket' }, log));
    await bindServer(admin, `unix:${paths.adminSocket}`, grpc.ServerCredentials.createInsecure());
    await chmod(paths.adminSocket, 0o600);
    cleanups.push(async () => {
      await shutdownServer(admin, 1_000);
      await unlink(paths.adminSocket).catch(() => {});
    });

    metrics.observeCa(caSnapshotSource({ authority, store, rotation, identity, clock }));
    if (opts.metricsListen) {
      const endpoint = await startMetricsServer(opts.metricsListen, log);
      cleanups.push(() => endpoint.close());
    }

    let compactEtcd: ((ledBefore: boolean) => Promise<void>) | undefined;
    if (etcd) {
      // One replica leads (ca/leadership.ts): rotation steps and pruning. Stopping resigns first, so the next
      // replica leads at once rather than after the lease TTL.
      const election = new EtcdLeadership(etcd.client, etcd.prefix, port, log, opts.replica);
      leadership = election;
      election.start();
      // The leader compacts after each prune: history older than one period goes (README "High availability": sizing).
      let compactTo = 0;
      compactEtcd = async (ledBefore) => {
        if (ledBefore && compactTo) {
          const rev = compactTo;
          await etcd.compact(rev).then(
            () => log.info('store.compacted', { revision: rev }),
            (err: unknown) => log.warn('store.compact_failed', { revision: rev, err: String((err as Error).message).slice(0, 200) }),
          );
        }
        compactTo = etcd.revision;
      };
      cleanups.push(() => election.stop());
    }

    // Store open, root key unsealed, listening: the CA can do its job. The first step of stopping says otherwise.
    // On etcd the job also needs a quorum: without one the replica says NOT_SERVING until a quorum read
    // succeeds again (ca/store-availability.ts), so load balancers and agents' health checks move on.
    let stopping = false;
    const availability = etcd
      ? new StoreAvailability(() => etcd.probe(), clock, log, (up) => {
          etcd.setQuorum(up);
          metrics.caStoreAvailable.set(up ? 1 : 0);
          if (!stopping) health.set(up ? 'SERVING' : 'NOT_SERVING');
        }, opts.replica?.availability)
      : undefined;
    metrics.caStoreAvailable.set(1);
    health.set('SERVING');
    availability?.start();
    cleanups.push(async () => {
      stopping = true;
      health.stopping();
      await availability?.stop();
    });
    log.info('ca.listening', {
      address: opts.listen,
      port,
      adminSocket: paths.adminSocket,
      clusterId: cluster.clusterId,
      store: store.backend,
      ...(etcd ? { etcdPrefix: etcd.prefix, replica: leadership.id } : {}),
      nodeCertTtl: formatDuration(cluster.nodeCertTtlMs),
      maxConnectionAge: formatDuration(maxAgeMs),
      tlsMinVersion: opts.tlsMinVersion ?? '1.3',
      limits,
      // How long this start took from the process's own start, and the CPU it used (every thread: the root-key
      // unseal runs on libuv's pool): the restart figure of README "Failure modes", load-independent in CPU.
      startMs: Math.round(process.uptime() * 1000),
      startCpuMs: cpuMs(process.cpuUsage()),
    });
    // What a restart need not wait for comes once the rush of renewals after it has passed: the CSR threads (at
    // once if checks queue up behind the main thread) and, on the embedded store, the first prune (it reads every
    // certificate record; scheduled just below, with the same delay).
    csr.startOnBacklog();
    const settled = new AbortController();
    const afterStart = clock.sleep(SETTLE_AFTER_START_MS, settled.signal).then(
      () => csr.start(),
      () => {}, // stopped first
    );
    cleanups.push(async () => {
      settled.abort();
      await afterStart;
    });
    // Pruning, on both backends, by the replica that leads (ca/prune-schedule.ts); the store's stop waits for it.
    cleanups.push(
      startPruning({
        clock,
        log,
        firstAfterMs: etcd ? (opts.replica?.pruneEveryMs ?? PRUNE_EVERY_MS) : SETTLE_AFTER_START_MS,
        everyMs: opts.replica?.pruneEveryMs ?? PRUNE_EVERY_MS,
        isLeader: () => leadership.isLeader(),
        prune,
        afterPrune: compactEtcd,
      }),
    );
    return { port, authority, stop: unwind };
  } catch (err) {
    await unwind();
    throw err;
  }
}
