// One agent of the hitless soak (figure 5), built from the product's own pieces: a MemoryCertificateProvider
// feeding its server and its channels, the real NodeService handlers (with their per-stream authorization and
// StreamBound), and Heartbeat streams to its peers that are the product's RefreshingStream run as PeerLink runs
// them. It answers the coordinator's requests (soak-host.ts), in its own process or in the coordinator's.
//
// What it measures: the gaps between the pongs of each stream it opened, its loop delay and CPU bursts
// (soak-agent-stats.ts), and at every sample the live legs and served streams on an expired or untrusted
// certificate.
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import { RefreshingStream, GENERATION_OPTION } from '../../shared/grpc/refreshing-stream.js';
import { MemoryCertificateProvider } from '../../shared/grpc/certificate-provider.js';
import { bindServer, shutdownServer } from '../../shared/grpc/server.js';
import { unaryCall } from '../../shared/grpc/call.js';
import { systemClock } from '../../shared/clock.js';
import type { Logger } from '../../shared/log.js';
import { NodeServiceRegistry, nodeServiceHandlers } from '../../agent/node-service.js';
import type { TrustView } from '../../agent/peer-auth.js';
import { NODE_SERVER_NAME, PROBE_SEQ } from '../../agent/peer-link.js';
import { RECONNECT_OPTIONS } from '../../agent/ca-client.js';
import { protos, type HeartbeatPing, type HeartbeatPong__Output, type NodeServiceClient } from '../../proto/load.js';
import type { WhoAmIResponse__Output } from '../../proto/generated/hitless/v1/WhoAmIResponse.js';
import { CLUSTER, certInfo, certificateProblem, checkServerIdentity, newKeyAndCsr, serialOf, type Issued } from './soak-pki.js';
import type { AgentConfig, AgentHandler, FinalStats, PhaseStats, Replies, Request, TrustUpdate } from './soak-host.js';
import { AgentStats, type PongTrack } from './soak-agent-stats.js';

/**
 * A server asks every stream it serves to move when its certificate changes; the asks reach us on the next pong
 * of each stream, within about one ping interval. The first ask on a pair's current channel after this long
 * without one starts a new burst: that channel was made before the server's change, so the next leg gets a new
 * one (see #sharedClient).
 */
const REQUEST_BURST_MS = 1_500;

interface Stream extends PongTrack {
  rs: RefreshingStream<HeartbeatPing, HeartbeatPong__Output>;
  to: string;
  timers: { start?: NodeJS.Timeout; every?: NodeJS.Timeout };
  up: boolean;
  /** Pings sent and not answered yet: seq → sent at (ms). */
  outstanding: Map<string, number>;
}

interface SharedChannel {
  key: string;
  client: NodeServiceClient;
  legs: number;
  madeAt: number;
  /** The peer asked streams on it to move: the next leg gets a new channel. */
  stale?: boolean;
}

/** Our streams to one peer and the channel they share. */
interface Pair {
  to: string;
  address: string;
  shared?: SharedChannel;
  /** Bumped when the peer asked the streams on the current channel to move: its connection predates the peer's change. */
  staleGeneration: number;
  /** When the latest burst of server requests on this pair began (performance.now()). */
  requestBurstAt: number;
}

export class SoakAgent implements AgentHandler {
  readonly #say: (line: string) => void;
  #config!: AgentConfig;
  readonly #provider = new MemoryCertificateProvider();
  readonly #registry = new NodeServiceRegistry();
  #server?: grpc.Server;
  #trust!: TrustView;
  #peerRootsPem: Record<string, string[]> = {};
  #allRootsPem: string[] = [];
  #serial = '';
  /** Bumped at every change of our certificate or bundle: a new shared channel per pair from then on. */
  #epoch = 0;
  readonly #keys = new Map<number, string>();
  #nextToken = 0;
  readonly #pairs: Pair[] = [];
  readonly #streams: Stream[] = [];
  #seq = 0;
  #closing = false;
  #channelsOpen = 0;
  #reconnects = 0;
  #reconnectFailures = 0;
  #stats!: AgentStats;
  readonly #productLog: Logger;

  constructor(say: (line: string) => void) {
    this.#say = say;
    // Product code logs through a Logger; its warnings and errors (a refused stream, say) belong in our output.
    const productLog: Logger = {
      debug() {},
      info() {},
      warn: (event, fields) => this.#log(`product warn ${event} ${JSON.stringify(fields ?? {})}`),
      error: (event, fields) => this.#log(`product error ${event} ${JSON.stringify(fields ?? {})}`),
      child: () => productLog,
    };
    this.#productLog = productLog;
  }

  #log(line: string): void {
    this.#say(`${this.#config?.nodeId ?? 'agent'}: ${line}`);
  }

  async handle(req: Request): Promise<unknown> {
    switch (req.op) {
      case 'init':
        this.#config = req.config;
        this.#stats = new AgentStats(req.config.heartbeatMs);
        return { pid: process.pid } satisfies Replies['init'];
      case 'csr': {
        const { keyPem, csrDer } = await newKeyAndCsr();
        const token = this.#nextToken++;
        this.#keys.set(token, keyPem);
        return { token, csrDer } satisfies Replies['csr'];
      }
      case 'serve':
        return { address: await this.#serve(req.token, req.issued, req.trust) } satisfies Replies['serve'];
      case 'connect':
        this.#connect(req.peers);
        return {};
      case 'up':
        return { up: this.#streams.filter((s) => s.up).length, streams: this.#streams.length } satisfies Replies['up'];
      case 'install':
        this.#install(req.token, req.issued, req.trust);
        return {};
      case 'installTrust':
        this.#installTrust(req.trust);
        return {};
      case 'sample':
        return this.#sample();
      case 'usesRoot':
        return { inUse: this.#usesRoot(req.fingerprint) } satisfies Replies['usesRoot'];
      case 'probe':
        return this.#probe(req.to, req.address, req.deadlineMs);
      case 'phase':
        return this.#nextPhase(req.next, req.measure);
      case 'stopPinging':
        for (const st of this.#streams) {
          clearTimeout(st.timers.start);
          clearInterval(st.timers.every);
        }
        return {};
      case 'outstanding':
        return { outstanding: this.#streams.reduce((n, st) => n + st.outstanding.size, 0) } satisfies Replies['outstanding'];
      case 'final':
        return this.#final(req.peerSerials);
      case 'stop':
        await this.#stop();
        return {};
    }
  }

  #takeKey(token: number): string {
    const keyPem = this.#keys.get(token);
    if (keyPem === undefined) throw new Error(`soak agent ${this.#config.nodeId}: no key for token ${token}`);
    this.#keys.delete(token);
    return keyPem;
  }

  #setTrust(t: TrustUpdate): void {
    this.#trust = { clusterId: CLUSTER, rootsPem: t.rootsPem, crossSignedPem: t.crossSignedPem, removedNodeIds: new Set() };
    this.#peerRootsPem = t.peerRootsPem;
    this.#allRootsPem = t.allRootsPem;
  }

  async #serve(token: number, issued: Issued, trust: TrustUpdate): Promise<string> {
    const { NodeService } = protos().node.hitless.v1;
    this.#setTrust(trust);
    this.#serial = issued.serial;
    this.#provider.update({ chainPem: issued.chainPem, keyPem: this.#takeKey(token), trustPem: trust.rootsPem });
    // No max_connection_age_grace_ms: after the GOAWAY, open streams finish on the old connection.
    const server = new grpc.Server({ 'grpc.max_connection_age_ms': this.#config.maxConnectionAgeMs });
    server.addService(
      NodeService.service,
      nodeServiceHandlers({
        trust: () => this.#trust,
        self: () => ({ nodeId: this.#config.nodeId, role: 'worker', serial: this.#serial, clusterId: CLUSTER }),
        clock: systemClock,
        log: this.#productLog,
        registry: this.#registry,
      }),
    );
    this.#server = server;
    return `127.0.0.1:${await bindServer(server, '127.0.0.1:0', this.#provider.serverCredentials(true))}`;
  }

  /**
   * As the agent installs a renewal (agent/node-agent.ts #install): the streams it serves are asked to move, and
   * when the bundle changed, those on a root it dropped are revoked. (The soak rechecked at every leaf rotation
   * too until December 2026: ~60 chain checks in one task at each step that no agent makes.)
   */
  #install(token: number, issued: Issued, trust: TrustUpdate): void {
    const bundleChanged = this.#bundleChanges(trust);
    this.#epoch++;
    this.#provider.update({ chainPem: issued.chainPem, keyPem: this.#takeKey(token), trustPem: trust.rootsPem });
    this.#setTrust(trust);
    this.#serial = issued.serial;
    if (bundleChanged) void this.#registry.recheck(this.#trust, systemClock, this.#productLog);
    this.#registry.refreshAll();
  }

  #installTrust(trust: TrustUpdate): void {
    const bundleChanged = this.#bundleChanges(trust);
    this.#epoch++;
    this.#provider.updateTrust(trust.rootsPem);
    this.#setTrust(trust);
    if (bundleChanged) void this.#registry.recheck(this.#trust, systemClock, this.#productLog);
  }

  #bundleChanges(t: TrustUpdate): boolean {
    const key = (roots: readonly string[], cross: readonly string[]) => [...roots, '|', ...cross].join('\n');
    return key(this.#trust.rootsPem, this.#trust.crossSignedPem) !== key(t.rootsPem, t.crossSignedPem);
  }

  // --- channels: per peer, one shared channel per (our credential epoch, peer change) -----------------------
  // In production each peer link has one heartbeat stream; here several streams share each pair's connection.
  // RefreshingStream asks connect() for a new client per leg; handing it the pair's channel for our current
  // credentials keeps the sharing while guaranteeing what a refresh needs — a connection made with both ends'
  // current credentials: a new channel once ours changed, or once the peer asked the streams on the current one
  // to move (its certificate changed after that channel connected); the same channel reconnects after a GOAWAY.
  // A channel is closed when its last leg is done with it.
  #sharedClient(pair: Pair): grpc.Client {
    const { NodeService } = protos().node.hitless.v1;
    const key = `${this.#epoch}/${pair.staleGeneration}`;
    if (pair.shared?.key !== key) {
      const old = pair.shared;
      const options = { 'grpc.ssl_target_name_override': NODE_SERVER_NAME, 'grpc.use_local_subchannel_pool': 1, ...RECONNECT_OPTIONS, [GENERATION_OPTION]: key };
      const client = new NodeService(pair.address, this.#provider.channelCredentials(checkServerIdentity), options) as NodeServiceClient;
      pair.shared = { key, client, legs: 0, madeAt: performance.now() };
      this.#channelsOpen++;
      this.#watchReconnects(client.getChannel());
      if (old && old.legs === 0) old.client.close(), this.#channelsOpen--;
    }
    const shared = pair.shared;
    shared.legs++;
    let closed = false;
    const leg = {
      getChannel: () => shared.client.getChannel(),
      close: () => {
        if (closed) return;
        closed = true;
        if (--shared.legs === 0 && pair.shared !== shared) shared.client.close(), this.#channelsOpen--;
      },
      heartbeat: () => {
        const call = shared.client.Heartbeat();
        let asked = false;
        call.on('data', (pong: HeartbeatPong__Output) => {
          if (!pong.refresh_requested || asked) return;
          asked = true;
          const now = performance.now();
          if (now - pair.requestBurstAt > REQUEST_BURST_MS) pair.requestBurstAt = now;
          // A channel made before this burst began connected (or may have) before the peer's change.
          const current = pair.shared;
          if (current && !current.stale && current.madeAt < pair.requestBurstAt) {
            current.stale = true;
            pair.staleGeneration++;
          }
        });
        return call;
      },
    };
    return leg as unknown as grpc.Client;
  }

  // Reconnects = a pooled channel becoming READY again after its first connection. After the GOAWAY the channel
  // goes IDLE; asking for its state with tryToConnect reconnects it at once (as PeerLink's probes would), so
  // every connection cycle is a real TLS handshake with the provider's latest identity and trust. Never on a
  // closed channel: grpc-js 1.14 tells the watcher about SHUTDOWN, and getConnectivityState(true) then restarts
  // the closed channel's load balancer, which reconnects after every GOAWAY for good (test/bench/HISTORY.md).
  #watchReconnects(ch: ReturnType<grpc.Client['getChannel']>): void {
    let wasReady = false;
    const watch = (prev: grpc.connectivityState) =>
      ch.watchConnectivityState(prev, Infinity, () => {
        if (this.#closing || ch.getConnectivityState(false) === grpc.connectivityState.SHUTDOWN) return;
        const s = ch.getConnectivityState(true);
        if (s === grpc.connectivityState.READY) {
          if (wasReady) this.#reconnects++;
          wasReady = true;
        } else if (s === grpc.connectivityState.TRANSIENT_FAILURE) {
          this.#reconnectFailures++;
          this.#log(`pooled channel to ${ch.getTarget()} failed to connect in phase ${this.#stats.phase}`);
        }
        watch(s);
      });
    watch(ch.getConnectivityState(true));
  }

  // --- the streams: RefreshingStreams as PeerLink runs them ------------------------------------------------
  #connect(peers: { nodeId: string; address: string; streams: number }[]): void {
    this.#provider.setMaxListeners(peers.reduce((n, p) => n + p.streams, 0) + 16);
    for (const p of peers) {
      const pair: Pair = { to: p.nodeId, address: p.address, staleGeneration: 0, requestBurstAt: -Infinity };
      this.#pairs.push(pair);
      for (let k = 0; k < p.streams; k++) this.#openStream(pair, `stream ${k} (${this.#config.nodeId} -> ${p.nodeId})`);
    }
  }

  #openStream(pair: Pair, what: string): void {
    const s = {} as Stream;
    const rs = new RefreshingStream<HeartbeatPing, HeartbeatPong__Output>({
      name: what,
      connect: () => this.#sharedClient(pair),
      open: (client) => (client as unknown as { heartbeat(): grpc.ClientDuplexStream<HeartbeatPing, HeartbeatPong__Output> }).heartbeat(),
      confirmOn: 'headers',
      probe: () => ({ seq: PROBE_SEQ, sent_at_ms: String(Date.now()) }),
      onMessage: (msg, leg) => {
        if (msg.seq === PROBE_SEQ) return; // a replacement's probe answer, not a heartbeat
        s.outstanding.delete(msg.seq);
        s.up = true;
        this.#stats.pong(s, leg.generation, Number(msg.sent_at_ms));
      },
      refreshRequested: (msg) => msg.refresh_requested,
      provider: this.#provider,
      ownNotAfter: () => this.#provider.leafNotAfter(),
      ownCertificate: () => this.#provider.current?.chainPem[0],
      clock: systemClock,
      log: this.#productLog,
      events: {
        error: (err, established) => {
          if (!this.#closing && established) this.#log(`${what} failed in phase ${this.#stats.phase}: ${grpc.status[err.code]} ${err.details}`);
        },
      },
    });
    Object.assign(s, { rs, to: pair.to, timers: {}, up: false, outstanding: new Map(), switchedAt: -Infinity });
    const ping = () => {
      const seq = String(++this.#seq);
      s.outstanding.set(seq, Date.now());
      rs.write({ seq, sent_at_ms: String(Date.now()) });
    };
    rs.start();
    // Staggered: streams pinging in lockstep would measure burst queueing, not rotations.
    ping();
    const { heartbeatMs } = this.#config;
    s.timers.start = setTimeout(() => {
      ping();
      s.timers.every = setInterval(ping, heartbeatMs);
    }, Math.random() * heartbeatMs);
    this.#streams.push(s);
  }

  // --- what the sampler and the root rotation's evidence look at ----------------------------------------------
  // Each live leg (in use, being confirmed, or draining after a move) has two certificates: ours (as its channel
  // was made), checked by the peer against its bundle, and the peer's (from the handshake), checked by us. The
  // streams we serve carry the client certificate each was authorized with, checked by us.
  #sample(): Replies['sample'] {
    const now = Date.now();
    let bad = 0;
    let legs = 0;
    // Which legs, to read a non-zero sample: "0->2 active client-cert untrusted" → count.
    const why = new Map<string, number>();
    const count = (key: string) => (bad++, why.set(key, (why.get(key) ?? 0) + 1));
    const short = (id: string) => id.replace('soak-node-', '');
    const self = short(this.#config.nodeId);
    for (const st of this.#streams) {
      const pairName = `${self}->${short(st.to)}`;
      for (const leg of st.rs.liveLegs()) {
        legs++;
        const peerTrust = this.#peerRootsPem[st.to] ?? [];
        const own = leg.ownCertificatePem !== undefined ? certificateProblem(leg.ownCertificatePem, peerTrust, this.#allRootsPem, now) : undefined;
        const peer = leg.peerCertificateDer !== undefined ? certificateProblem(leg.peerCertificateDer, this.#trust.rootsPem, this.#allRootsPem, now) : undefined;
        if (own) count(`${pairName} ${leg.state} client-cert ${own}`);
        else if (peer) count(`${pairName} ${leg.state} server-cert ${peer}`);
      }
    }
    for (const served of this.#registry.streams()) {
      const problem = certificateProblem(served.der, this.#trust.rootsPem, this.#allRootsPem, now);
      if (problem) count(`served by ${self} ${problem}`);
    }
    return { bad, legs, why: [...why] };
  }

  #usesRoot(print: string): boolean {
    const from = (cert: string | Uint8Array | undefined) => cert !== undefined && certInfo(cert, this.#allRootsPem).root === print;
    return (
      this.#streams.some((st) => st.rs.liveLegs().some((leg) => from(leg.ownCertificatePem) || from(leg.peerCertificateDer))) ||
      this.#registry.streams().some((served) => from(served.der))
    );
  }

  /** A NEW channel (own subchannel pool + a unique option): a fresh handshake with both ends' current certificates. */
  #probeSeq = 0;
  async #probe(to: string, address: string, deadlineMs: number): Promise<Replies['probe']> {
    const { NodeService } = protos().node.hitless.v1;
    const options = { 'grpc.ssl_target_name_override': NODE_SERVER_NAME, 'grpc.use_local_subchannel_pool': 1, ...RECONNECT_OPTIONS, 'hitless.soak.fresh_handshake': ++this.#probeSeq };
    const client = new NodeService(address, this.#provider.channelCredentials(checkServerIdentity), options) as NodeServiceClient;
    const started = performance.now();
    try {
      let call: grpc.ClientUnaryCall | undefined;
      const res = await unaryCall<WhoAmIResponse__Output>((o, cb) => (call = client.WhoAmI({}, o, cb)), deadlineMs);
      return { callerSerial: res.serial, serverSerial: serialOf(call?.getAuthContext()?.sslPeerCertificate), ms: performance.now() - started };
    } catch (err) {
      return { ms: performance.now() - started, error: `${to}: ${(err as Error).message}` };
    } finally {
      client.close();
    }
  }

  // --- phases and results -------------------------------------------------------------------------------------
  #nextPhase(next: string, measure: boolean): PhaseStats {
    const own = this.#stats.nextPhase(next, measure, () => {
      for (const st of this.#streams) st.lastPong = undefined;
    });
    return {
      ...own,
      nodeId: this.#config.nodeId,
      liveLegs: this.#streams.reduce((n, st) => n + st.rs.liveLegs().length, 0),
      channelsOpen: this.#channelsOpen,
    };
  }

  #final(peerSerials: Record<string, string>): FinalStats {
    const sum = (f: (st: Stream) => number) => this.#streams.reduce((n, st) => n + f(st), 0);
    return {
      ...this.#stats.final(),
      nodeId: this.#config.nodeId,
      streamErrors: sum((st) => st.rs.errors),
      streamEnds: this.#streams.filter((st) => !st.rs.connected).length,
      refreshes: sum((st) => st.rs.refreshes),
      refreshFailures: sum((st) => st.rs.refreshFailures),
      heartbeatsLost: sum((st) => st.outstanding.size),
      reconnects: this.#reconnects,
      reconnectFailures: this.#reconnectFailures,
      streamsOnCurrentServerCert: this.#streams.filter((st) => st.rs.current?.peerSerial === peerSerials[st.to]).length,
      streams: this.#streams.length,
    };
  }

  /** Clean stop: half-close every stream (the server ends its side), then channels, then the server. */
  async #stop(): Promise<void> {
    this.#closing = true;
    this.#stats?.stop();
    for (const st of this.#streams) {
      clearTimeout(st.timers.start);
      clearInterval(st.timers.every);
    }
    await Promise.all(this.#streams.map((s) => s.rs.stop()));
    for (const p of this.#pairs) p.shared?.client.close();
    if (this.#server) await shutdownServer(this.#server, 5_000);
  }
}
