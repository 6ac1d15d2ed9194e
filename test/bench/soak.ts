// The "hitless soak": N agents in one process hold long-lived Heartbeat streams (250 by default) to each other while every
// agent's leaf is rotated 10 times and the cluster root once (A → B through the cross-signed X). Hitless means:
// no stream errors or ends, no heartbeat stalls, and fresh handshakes after every step that present and see the
// new certificates. It is built from the product's own pieces — one MemoryCertificateProvider per agent feeding
// its server and its channels, the real NodeService handlers (with their per-stream authorization), PeerLink's
// channel options — so what it measures is the product, not a model of it.
//
// The streams are the product's own RefreshingStream (shared/grpc/refreshing-stream.ts), as PeerLink runs them:
// they move make-before-break to a new connection whenever either end's certificate or bundle changes, the
// server asks (its StreamBound: agent/node-service.ts), or a connection drains at its max age. Every second
// the soak looks at every live leg of every stream and counts those on an expired or untrusted certificate:
// either end's certificate past its notAfter, or issued by a root no longer in the bundle of the end that
// checks it (target 0 at every sample). Leaves issued by the rotations live LEAF_TTL_MS, so a stream left on
// an old one would be seen expired within the soak, not only untrusted after the root rotation.
//
// Deliberately: a stream that fails is counted (RefreshingStream's errors: failures of the stream in use, never
// the moves); conditions are polled against deadlines, never slept for; only the pacing between rotations is
// fixed (it is a soak).
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import type { PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { RefreshingStream, GENERATION_OPTION } from '../../shared/grpc/refreshing-stream.js';
import { issuingRoot } from '../../shared/pki/chain.js';
import { parseCertificate } from '../../shared/pki/certs.js';
import { pemToDer } from '../../shared/pki/pem.js';
import { MemoryCertificateProvider } from '../../shared/grpc/certificate-provider.js';
import { bindServer, shutdownServer } from '../../shared/grpc/server.js';
import { unaryCall } from '../../shared/grpc/call.js';
import { systemClock } from '../../shared/clock.js';
import type { Logger } from '../../shared/log.js';
import { generateKeyPairPem } from '../../shared/pki/keys.js';
import { normalizeSerial } from '../../shared/pki/certs.js';
import { createCsrDer } from '../../shared/pki/csr.js';
import { createRootCertificate, crossSignRoot } from '../../shared/pki/roots.js';
import { createSigner, issueLeaf, type Signer } from '../../ca/issuer.js';
import { validateCsr } from '../../shared/pki/csr.js';
import { NodeServiceRegistry, nodeServiceHandlers } from '../../agent/node-service.js';
import type { TrustView } from '../../agent/peer-auth.js';
import { NODE_SERVER_NAME, PROBE_SEQ } from '../../agent/peer-link.js';
import { RECONNECT_OPTIONS } from '../../agent/ca-client.js';
import { protos, type HeartbeatPing, type HeartbeatPong__Output, type NodeServiceClient } from '../../proto/load.js';
import type { WhoAmIResponse__Output } from '../../proto/generated/hitless/v1/WhoAmIResponse.js';

export interface SoakResult {
  agents: number; streams: number; leafRotations: number; rootRotation: boolean;
  /**
   * Pongs received; failures of a stream in use (RefreshingStream errors: a move is not one) and streams not up
   * at the end (targets: 0); pooled-channel reconnects.
   */
  heartbeats: number; streamErrors: number; streamEnds: number; reconnects: number;
  /** Moves of a stream to a new connection (make-before-break), and replacements that failed (the old leg carried on). */
  refreshes: number; refreshFailures: number;
  /** Pings never answered (counted at the end, 10 s after pinging stopped; target 0). */
  heartbeatsLost: number;
  /**
   * Sampled every second from the streams' start to the end: legs of streams whose certificate of either end
   * is expired or issued by a root the checking end no longer trusts. Max over samples (target 0), samples
   * taken, and the largest number of live legs a sample looked at.
   */
  untrustedStreamsMax: number; untrustedSamples: number; untrustedSampledLegsMax: number;
  /** Streams whose leg in use ends on the server's current certificate, at the end (target: all). */
  streamsOnCurrentServerCert: number;
  /** WhoAmI over a new connection after every step; failed or saw an old certificate (target: 0). */
  freshHandshakes: number; freshHandshakeFailures: number;
  /** The slowest fresh probe that succeeded (ms): connect, TLS, WhoAmI. */
  freshHandshakeMaxMs: number;
  /** Largest and 99th-percentile interval between consecutive pongs of a stream, measured after warm-up. */
  maxGapMs: number; p99GapMs: number;
  seconds: number;
  // Beyond the brief, to read the numbers above:
  /** The ping cadence: a gap is about this long when nothing stalls at all. */
  heartbeatMs: number;
  /** Pooled-channel reconnects whose handshake failed (TRANSIENT_FAILURE): new calls would have failed. */
  reconnectFailures: number;
  /** Worst event-loop delay while measuring: how much of a gap is this process stalling, not the network. */
  eventLoopMaxDelayMs: number;
  /** Leaves renewed because a step ran past half their life (0 unless the process was starved). */
  lateRenewals: number;
  /** Root rotation: from the last leaf(B) installed to no stream involving a certificate of A (the evidence the CA finishes on). */
  finishWaitMs: number;
}

/** Defaults: 4 agents, 250 streams, 10 leaf rotations, a root rotation, 100 ms pings, 4 s connection age. */
export interface SoakOptions {
  agents?: number; streams?: number; leafRotations?: number; rootRotation?: boolean;
  heartbeatMs?: number; maxConnectionAgeMs?: number; log?: (line: string) => void;
  /** Called when a phase starts (diagnostic harnesses attribute what they record to it). */
  onPhase?: (name: string) => void;
}

const CLUSTER = 'soak-cluster';
const HOUR_MS = 3_600_000;
const GAP_BUCKETS = 60_000; // gap histogram in 1 ms buckets (for p99); longer gaps land in the last one
/**
 * Lifetime of the leaves the rotations issue: 10 rotation steps (3 s apart), so a stream left behind on the
 * leaf of an early rotation would run on an expired certificate before the soak ends, while a step that runs
 * late on a busy machine does not let an agent's current leaf expire. The first leaves live an hour: the
 * streams may take a while to come up on a busy machine.
 */
const LEAF_TTL_MS = 30_000;
/**
 * An agent renews at 50-80 % of its certificate's life (agent/renewal-schedule.ts); the soak's renewer at the
 * start of that window. Steps replace every leaf long before (after 3-9 s of 30), so only a step that runs
 * late makes one.
 */
const RENEW_AT = 0.5;
/**
 * A fresh probe that has not completed by then failed. Generous on purpose (it was 5 s): on a starved process a
 * loopback handshake took 3-4.5 s and a whole probe over 5 s without any error on either end (notes/xsign.md),
 * and "failed handshakes" should count failures; slowness is what 5d-5f and the slowest probe report.
 */
const PROBE_DEADLINE_MS = 20_000;
/** At the end, pings still unanswered this long after pinging stopped are lost. */
const LOST_AFTER_MS = 10_000;

interface Creds {
  chainPem: string[];
  keyPem: string;
  serial: string;
  /** Wall-clock ms: when it was issued, and its notAfter. */
  issuedAt: number;
  notAfter: number;
}

interface Agent {
  nodeId: string;
  provider: MemoryCertificateProvider;
  /** What the NodeService handlers authorize callers against; changed with the provider's trust. */
  trust: TrustView;
  serial: string;
  server: grpc.Server;
  address: string;
  registry: NodeServiceRegistry;
  /** Bumped at every change of this agent's certificate or bundle: a shared channel is made per (from, to) epoch pair. */
  epoch: number;
  /** Wall-clock ms at which its renewer would renew the current leaf (RENEW_AT of its life). */
  renewAt: number;
}

interface Stream {
  rs: RefreshingStream<HeartbeatPing, HeartbeatPong__Output>;
  from: Agent;
  to: Agent;
  timers: { start?: NodeJS.Timeout; every?: NodeJS.Timeout };
  lastPong?: number;
  up: boolean;
  /** Pings sent and not answered yet: seq → sent at (ms). */
  outstanding: Map<string, number>;
}

/** The agent's half of a renewal (fresh key, CSR) and the CA's (CSR check, issueLeaf), as in production. */
async function issue(signer: Signer, nodeId: string, ttlMs = LEAF_TTL_MS): Promise<Creds> {
  const { privateKeyPem } = generateKeyPairPem();
  const { spkiDer } = await validateCsr(await createCsrDer(privateKeyPem));
  const now = Date.now();
  const leaf = await issueLeaf(signer, { spkiDer, nodeId, role: 'worker', clusterId: CLUSTER, notBefore: new Date(now - 60_000), notAfter: new Date(now + ttlMs) });
  return { chainPem: leaf.chainPem, keyPem: privateKeyPem, serial: leaf.info.serial, issuedAt: now, notAfter: now + ttlMs };
}

async function newRoot(subject: string): Promise<{ certPem: string; keyPem: string }> {
  const keyPem = generateKeyPairPem().privateKeyPem;
  const now = Date.now();
  return { keyPem, certPem: await createRootCertificate({ privateKeyPem: keyPem, subject, notBefore: new Date(now - HOUR_MS), notAfter: new Date(now + 24 * HOUR_MS) }) };
}

/** Polls `cond` every `everyMs` until it holds; throws after `timeoutMs` (a deadline, not a sleep). */
async function until(cond: () => boolean, timeoutMs: number, what: string, everyMs = 10): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`soak: timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

// As PeerLink: nodes are checked by cluster (O=) and chain, not by hostname.
const checkServerIdentity = (_host: string, cert: PeerCertificate): Error | undefined =>
  ([] as string[]).concat(cert.subject?.O ?? []).includes(CLUSTER) ? undefined : new Error(`peer is not a node of cluster ${CLUSTER}`);
const renewAtOf = (c: Creds) => c.issuedAt + RENEW_AT * (c.notAfter - c.issuedAt);
const serialOf = (cert: PeerCertificate | undefined) => (cert?.serialNumber ? normalizeSerial(cert.serialNumber) : undefined);

interface Pair {
  from: Agent;
  to: Agent;
  /** The channel for the current epochs of both ends, and how many stream legs use it. */
  shared?: { key: string; client: NodeServiceClient; legs: number };
}

/** Per certificate (by its DER in base64): notAfter and the fingerprint of the root that issued it, among all roots of the soak. */
const certCache = new Map<string, { notAfter: number; root: string | undefined; rootsSeen: number }>();
const fingerprintOf = new Map<string, string>();
const fingerprint = (rootPem: string) => {
  let f = fingerprintOf.get(rootPem);
  if (f === undefined) fingerprintOf.set(rootPem, (f = parseCertificate(rootPem).fingerprint));
  return f;
};
const notAfterOf = (pem: string | undefined) => (pem ? parseCertificate(pem).notAfter : undefined);

function certInfo(cert: string | Uint8Array, allRootsPem: readonly string[]): { notAfter: number; root: string | undefined } {
  // Keyed by the PEM text as given, or the DER in base64: the sample and the finish's evidence look at ~500 legs.
  const key = typeof cert === 'string' ? cert : Buffer.from(cert).toString('base64');
  let c = certCache.get(key);
  if (!c || (c.root === undefined && c.rootsSeen < allRootsPem.length)) {
    const der = typeof cert === 'string' ? pemToDer(cert) : cert;
    c = { notAfter: parseCertificate(der).notAfter.getTime(), root: issuingRoot(der, allRootsPem), rootsSeen: allRootsPem.length };
    certCache.set(key, c);
  }
  return c;
}

/** Undefined when `cert` is unexpired at `now` and issued by a root of `trustedPem` (the checking end's bundle now). */
function certificateProblem(cert: string | Uint8Array, trustedPem: readonly string[], allRootsPem: readonly string[], now: number): 'expired' | 'untrusted' | undefined {
  const c = certInfo(cert, allRootsPem);
  if (now > c.notAfter) return 'expired';
  return c.root !== undefined && trustedPem.some((r) => fingerprint(r) === c.root) ? undefined : 'untrusted';
}

export async function benchSoak(opts: SoakOptions = {}): Promise<SoakResult> {
  const nAgents = Math.max(2, opts.agents ?? 4);
  // 250 (it was 1,000 while streams never moved): 1,000 moving streams in one process on 2 cores shared with
  // other work saturated it (2,000 stream starts per rotation step; event-loop delays of seconds, steps that ran
  // past the leaves' lifetime). 250 streams is still ~21 per connection, 20x a real node's one per peer.
  const nStreams = opts.streams ?? 250;
  const leafRotations = opts.leafRotations ?? 10;
  const rootRotation = opts.rootRotation ?? true;
  const heartbeatMs = opts.heartbeatMs ?? 100;
  // 4 s, not the 2 s of the streams that never moved: every stream now moves at every GOAWAY (as in production,
  // where the age is 30 min and a node has one stream per peer) and twice per rotation step (its own end's
  // change, then the server's request), each move a stream start with its chain check.
  const maxAgeMs = opts.maxConnectionAgeMs ?? 4_000;
  // Three quarters of a connection age between steps: pooled connections cycle (GOAWAY, then a reconnect with
  // the provider's latest certificate) between most rotations, so rotations and reconnects interleave.
  const rotateEveryMs = Math.round(0.75 * maxAgeMs);
  const t0 = performance.now();
  const write = opts.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const say = (line: string) => write(`[soak +${((performance.now() - t0) / 1000).toFixed(1)}s] ${line}`);
  // Product code logs through a Logger; its warnings and errors (a refused stream, say) belong in our output.
  const productLog: Logger = {
    debug() {},
    info() {},
    warn: (event, fields) => say(`product warn ${event} ${JSON.stringify(fields ?? {})}`),
    error: (event, fields) => say(`product error ${event} ${JSON.stringify(fields ?? {})}`),
    child: () => productLog,
  };
  const { NodeService } = protos().node.hitless.v1;

  let closing = false;
  let measuring = false;
  let [heartbeats, reconnects, reconnectFailures, freshHandshakes, freshHandshakeFailures] = [0, 0, 0, 0, 0];
  let [untrustedStreamsMax, untrustedSamples, untrustedSampledLegsMax] = [0, 0, 0];
  let sampler: NodeJS.Timeout | undefined;
  let channelsOpen = 0;
  let renewer: NodeJS.Timeout | undefined;
  let lateRenewals = 0;
  let freshHandshakeMaxMs = 0;
  let finishWaitMs = 0;
  let maxGapMs = 0;
  let [heartbeatsLost, streamsOnCurrentServerCert, streamEnds] = [0, 0, 0];
  const sum = (f: (st: Stream) => number) => streams.reduce((n, st) => n + f(st), 0);
  const gapHist = new Uint32Array(GAP_BUCKETS + 1);

  // Per phase: worst gap, worst event-loop delay and loop utilization. When a gap is over target this says
  // *when* it happened (rotation instant, connection cycle, CA work...) and whether the process itself stalled.
  const loop = monitorEventLoopDelay({ resolution: 5 });
  let phase = 'warm-up';
  let phaseGap = 0;
  let loopMaxMs = 0;
  let elu = performance.eventLoopUtilization();
  const setPhase = (next?: string) => {
    const delay = loop.max / 1e6;
    if (measuring) loopMaxMs = Math.max(loopMaxMs, delay);
    const busy = performance.eventLoopUtilization(elu).utilization;
    say(`phase ${phase}: max heartbeat gap ${phaseGap.toFixed(1)} ms, event-loop delay max ${delay.toFixed(1)} ms, loop ${(busy * 100).toFixed(0)}% busy; shared channels open ${channelsOpen}, live legs ${streams.reduce((n, st) => n + st.rs.liveLegs().length, 0)}`);
    [elu, phaseGap, phase] = [performance.eventLoopUtilization(), 0, next ?? phase];
    opts.onPhase?.(phase);
    loop.reset();
  };

  const agents: Agent[] = [];
  const pairs: Pair[] = [];
  const streams: Stream[] = [];
  try {
    // --- root A and the agents ------------------------------------------------------------------------------
    const rootA = await newRoot('CN=soak root A');
    const signerA = await createSigner(rootA.certPem, rootA.keyPem);
    for (let i = 0; i < nAgents; i++) {
      const nodeId = `soak-node-${i}`;
      const creds = await issue(signerA, nodeId, HOUR_MS);
      const provider = new MemoryCertificateProvider();
      // Each stream this agent opens follows the provider (RefreshingStream's 'update' listener): ~250 here,
      // where a real agent has one per peer.
      provider.setMaxListeners(nStreams + 16);
      provider.update({ chainPem: creds.chainPem, keyPem: creds.keyPem, trustPem: [rootA.certPem] });
      // No max_connection_age_grace_ms: after the GOAWAY, open streams finish on the old connection.
      const server = new grpc.Server({ 'grpc.max_connection_age_ms': maxAgeMs });
      const trust: TrustView = { clusterId: CLUSTER, rootsPem: [rootA.certPem], crossSignedPem: [], removedNodeIds: new Set() };
      const registry = new NodeServiceRegistry();
      const agent: Agent = { nodeId, provider, trust, serial: creds.serial, server, address: '', registry, epoch: 0, renewAt: renewAtOf(creds) };
      server.addService(
        NodeService.service,
        nodeServiceHandlers({
          trust: () => agent.trust,
          self: () => ({ nodeId, role: 'worker', serial: agent.serial, clusterId: CLUSTER }),
          clock: systemClock,
          log: productLog,
          registry,
        }),
      );
      agents.push(agent);
      agent.address = `127.0.0.1:${await bindServer(server, '127.0.0.1:0', provider.serverCredentials(true))}`;
    }

    // In production every agent is its own process, so CA signing and each agent's TLS context rebuild land
    // on different event loops. Here all share one: work is done agent by agent with a loop turn in between,
    // so no single callback holds the loop longer than one agent's share would.
    const prepare = async (signer: Signer) => {
      const out: Creds[] = [];
      for (const a of agents) {
        out.push(await issue(signer, a.nodeId));
        await nextTurn();
      }
      return out;
    };
    const eachAgent = async (step: (a: Agent, i: number) => void) => {
      for (const [i, a] of agents.entries()) {
        step(a, i);
        await nextTurn();
      }
    };
    /** New identity and trust: the provider (TLS) and the handlers' trust view change in the same tick. */
    /** As the agent does on a renewal: the streams it serves are asked to move, and those on a root it dropped are revoked. */
    const install = (a: Agent, c: Creds, rootsPem: string[], crossSignedPem: string[] = []) => {
      a.epoch++;
      a.renewAt = renewAtOf(c);
      a.provider.update({ chainPem: c.chainPem, keyPem: c.keyPem, trustPem: rootsPem });
      [a.trust, a.serial] = [{ ...a.trust, rootsPem, crossSignedPem }, c.serial];
      a.registry.refreshAll();
      void a.registry.recheck(a.trust, systemClock, productLog);
    };
    const installTrust = (a: Agent, rootsPem: string[], crossSignedPem: string[]) => {
      a.epoch++;
      a.provider.updateTrust(rootsPem);
      a.trust = { ...a.trust, rootsPem, crossSignedPem };
      void a.registry.recheck(a.trust, systemClock, productLog);
    };

    // --- renewals, as each agent's renewer would make them ---------------------------------------------------
    // Steps replace every leaf long before half its life, so on an idle machine this never fires. On a starved
    // one a step can outlast the leaves (its 12 fresh probes run one at a time, each taking seconds): before this,
    // every agent's current certificate then expired under the soak, new handshakes failed on it and the
    // sample counted every stream — a failure the soak made, since a real agent renews on its own schedule
    // whatever the rotation does (seen in the one failing full run: the root rotation's second step lasted
    // over 30 s). A renewal here is the production one: same root, chain shape and trust as the step in
    // force, installed like any change (streams move). Each is logged and counted (lateRenewals): a non-zero
    // count says a step ran late, i.e. the process was starved.
    let stepSeq = 0;
    let renewWith = { signer: signerA, rootsPem: [rootA.certPem], crossSignedPem: [] as string[] };
    /** A step begins: what a renewal issues from now on. Renewals under way for the previous step are dropped. */
    const beginStep = (signer: Signer, rootsPem: string[], crossSignedPem: string[] = []) => {
      stepSeq++;
      renewWith = { signer, rootsPem, crossSignedPem };
    };
    const renewing = new Set<Agent>();
    const renewDue = () => {
      for (const a of agents) {
        if (closing || renewing.has(a) || Date.now() < a.renewAt) continue;
        renewing.add(a);
        const [seq, w] = [stepSeq, renewWith];
        void issue(w.signer, a.nodeId)
          .then((c) => {
            if (seq !== stepSeq || closing) return;
            install(a, c, w.rootsPem, w.crossSignedPem);
            lateRenewals++;
            say(`${a.nodeId} renewed in phase ${phase}: the step ran past half its leaf's life (starved)`);
          })
          .finally(() => renewing.delete(a));
      }
    };
    renewer = setInterval(renewDue, 250);

    // --- channels: per ordered pair, one shared channel per (from, to) credential epoch ---------------------
    // In production each peer link has one heartbeat stream; here ~21 streams share each pair's connection, as
    // they did before the streams moved. RefreshingStream asks connect() for a new client per leg; handing it the
    // pair's channel for the current epochs of both ends keeps the sharing while guaranteeing what a refresh
    // needs — a connection made with both ends' current credentials (a new channel once either changed; the
    // same channel reconnects after a GOAWAY). A channel is closed when its last leg is done with it.
    const channelOptions = { 'grpc.ssl_target_name_override': NODE_SERVER_NAME, 'grpc.use_local_subchannel_pool': 1, ...RECONNECT_OPTIONS };
    const sharedClient = (pair: Pair): grpc.Client => {
      const key = `${pair.from.epoch}/${pair.to.epoch}`;
      if (pair.shared?.key !== key) {
        const old = pair.shared;
        const client = new NodeService(pair.to.address, pair.from.provider.channelCredentials(checkServerIdentity), { ...channelOptions, [GENERATION_OPTION]: key }) as NodeServiceClient;
        pair.shared = { key, client, legs: 0 };
        channelsOpen++;
        watchReconnects(client.getChannel());
        if (old && old.legs === 0) old.client.close(), channelsOpen--;
      }
      const shared = pair.shared;
      shared.legs++;
      let closed = false;
      const leg = {
        getChannel: () => shared.client.getChannel(),
        close: () => {
          if (closed) return;
          closed = true;
          if (--shared.legs === 0 && pair.shared !== shared) shared.client.close(), channelsOpen--;
        },
        heartbeat: () => shared.client.Heartbeat(),
      };
      return leg as unknown as grpc.Client;
    };
    for (const from of agents) {
      for (const to of agents) if (from !== to) pairs.push({ from, to });
    }
    // Reconnects = a pooled channel becoming READY again after its first connection. After the GOAWAY the
    // channel goes IDLE; asking for its state with tryToConnect reconnects it at once (as PeerLink's probes
    // would), so every connection cycle is a real TLS handshake with the provider's latest identity and trust.
    // Never on a closed channel: grpc-js 1.14 tells the watcher about SHUTDOWN, and getConnectivityState(true)
    // then restarts the closed channel's load balancer: it reconnects, and again after every GOAWAY, for good
    // (seen in isolation: a closed channel back to READY, 6 new connections in 6 s at a 1 s max age). Before
    // this, every channel the soak closed lived on as a zombie that handshook at every connection age: about
    // 12 more live connections per rotation step (12 → 105 over 3 leaf + 3 root steps), a load that grew step
    // by step, so the last steps (the root rotation's) were the ones that starved (notes/xsign.md).
    function watchReconnects(ch: ReturnType<grpc.Client['getChannel']>): void {
      let wasReady = false;
      const watch = (prev: grpc.connectivityState) =>
        ch.watchConnectivityState(prev, Infinity, () => {
          if (closing || ch.getConnectivityState(false) === grpc.connectivityState.SHUTDOWN) return;
          const s = ch.getConnectivityState(true);
          if (s === grpc.connectivityState.READY) {
            if (wasReady) reconnects++;
            wasReady = true;
          } else if (s === grpc.connectivityState.TRANSIENT_FAILURE) {
            reconnectFailures++;
            say(`pooled channel to ${ch.getTarget()} failed to connect in phase ${phase}`);
          }
          watch(s);
        });
      watch(ch.getConnectivityState(true));
    }

    // --- the streams: spread over the pairs, RefreshingStreams as PeerLink runs them -------------------------
    let seqAll = 0;
    for (let k = 0; k < nStreams; k++) {
      const pair = pairs[k % pairs.length]!;
      const { from, to } = pair;
      const what = `stream ${k} (${from.nodeId} -> ${to.nodeId})`;
      const s = {} as Stream;
      const rs = new RefreshingStream<HeartbeatPing, HeartbeatPong__Output>({
        name: what,
        connect: () => sharedClient(pair),
        open: (client) => (client as unknown as { heartbeat(): grpc.ClientDuplexStream<HeartbeatPing, HeartbeatPong__Output> }).heartbeat(),
        confirmOn: 'headers',
        probe: () => ({ seq: PROBE_SEQ, sent_at_ms: String(Date.now()) }),
        onMessage: (msg) => {
          if (msg.seq === PROBE_SEQ) return; // a replacement's probe answer, not a heartbeat
          const now = performance.now();
          heartbeats++;
          s.outstanding.delete(msg.seq);
          s.up = true;
          if (measuring && s.lastPong !== undefined) {
            const gap = now - s.lastPong;
            gapHist[Math.min(GAP_BUCKETS, Math.round(gap))]!++;
            [maxGapMs, phaseGap] = [Math.max(maxGapMs, gap), Math.max(phaseGap, gap)];
          }
          s.lastPong = now;
        },
        refreshRequested: (msg) => msg.refresh_requested,
        provider: from.provider,
        ownNotAfter: () => notAfterOf(from.provider.current?.chainPem[0]),
        ownCertificate: () => from.provider.current?.chainPem[0],
        clock: systemClock,
        log: productLog,
        events: {
          error: (err, established) => {
            if (!closing && established) say(`${what} failed in phase ${phase}: ${grpc.status[err.code]} ${err.details}`);
          },
        },
      });
      Object.assign(s, { rs, from, to, timers: {}, up: false, outstanding: new Map() });
      const ping = () => {
        const seq = String(++seqAll);
        s.outstanding.set(seq, Date.now());
        rs.write({ seq, sent_at_ms: String(Date.now()) });
      };
      rs.start();
      // Staggered: Streams pinging in lockstep would measure burst queueing, not rotations.
      ping();
      s.timers.start = setTimeout(() => {
        ping();
        s.timers.every = setInterval(ping, heartbeatMs);
      }, Math.random() * heartbeatMs);
      streams.push(s);
    }
    await until(() => streams.every((s) => s.up), 60_000, `${nStreams} streams to deliver a first pong`);
    say(`${nStreams} streams up over ${pairs.length} shared channels between ${nAgents} agents`);

    // --- every second: streams on an expired or untrusted certificate -----------------------------------------
    // Each live leg (in use, being confirmed, or draining after a move) has two certificates: ours (the client's,
    // as its channel was made) checked by the server end, and the server's (from the handshake) checked by us.
    const allRoots = [rootA.certPem];
    const sample = () => {
      const now = Date.now();
      let bad = 0;
      let legs = 0;
      // Which legs, to read a non-zero sample: "0->2 active client-cert untrusted" → count.
      const why = new Map<string, number>();
      const count = (key: string) => (bad++, why.set(key, (why.get(key) ?? 0) + 1));
      for (const st of streams) {
        const pairName = `${st.from.nodeId.replace('soak-node-', '')}->${st.to.nodeId.replace('soak-node-', '')}`;
        for (const leg of st.rs.liveLegs()) {
          legs++;
          const own = leg.ownCertificatePem !== undefined ? certificateProblem(leg.ownCertificatePem, st.to.trust.rootsPem, allRoots, now) : undefined;
          const peer = leg.peerCertificateDer !== undefined ? certificateProblem(leg.peerCertificateDer, st.from.trust.rootsPem, allRoots, now) : undefined;
          if (own) count(`${pairName} ${leg.state} client-cert ${own}`);
          else if (peer) count(`${pairName} ${leg.state} server-cert ${peer}`);
        }
      }
      // The servers' side: the client certificate each served stream was authorized with.
      for (const a of agents) {
        for (const served of a.registry.streams()) {
          const problem = certificateProblem(served.der, a.trust.rootsPem, allRoots, now);
          if (problem) count(`served by ${a.nodeId.replace('soak-node-', '')} ${problem}`);
        }
      }
      untrustedSamples++;
      untrustedSampledLegsMax = Math.max(untrustedSampledLegsMax, legs);
      if (bad > untrustedStreamsMax) {
        const detail = [...why].sort((x, y) => y[1] - x[1]).slice(0, 8).map(([k, n]) => `${k}: ${n}`).join(', ');
        say(`${bad} stream legs on an expired or untrusted certificate in phase ${phase} (${detail})`);
      }
      untrustedStreamsMax = Math.max(untrustedStreamsMax, bad);
    };
    sample();
    sampler = setInterval(sample, 1000);

    // Warm-up is not measured: the stream starts (each authorized by a chain check) and their garbage and
    // first connection cycles spill over; a settle period absorbs that. Then a rotation-free 'steady' phase
    // gives the baseline that every rotation phase is compared with.
    loop.enable();
    setPhase('settle');
    await sleep(rotateEveryMs);
    for (const s of streams) s.lastPong = undefined;
    setPhase('steady');
    measuring = true;
    await sleep(rotateEveryMs);

    // --- fresh handshakes: a NEW channel (own subchannel pool + a unique option) per ordered pair ------------
    let probeSeq = 0;
    const freshHandshake = async (from: Agent, to: Agent): Promise<boolean> => {
      const options = { ...channelOptions, 'hitless.soak.fresh_handshake': ++probeSeq };
      const client = new NodeService(to.address, from.provider.channelCredentials(checkServerIdentity), options) as NodeServiceClient;
      const started = performance.now();
      // A renewal may land while the probe connects (a late step): then the newer serial is the right one too.
      const [fromSerial, toSerial] = [from.serial, to.serial];
      try {
        let call: grpc.ClientUnaryCall | undefined;
        const res = await unaryCall<WhoAmIResponse__Output>((o, cb) => (call = client.WhoAmI({}, o, cb)), PROBE_DEADLINE_MS);
        freshHandshakeMaxMs = Math.max(freshHandshakeMaxMs, performance.now() - started);
        const serverSerial = serialOf(call?.getAuthContext()?.sslPeerCertificate);
        // Both directions must be new: the certificate the server saw for us, and the one it presented.
        if ((res.serial === fromSerial || res.serial === from.serial) && (serverSerial === toSerial || serverSerial === to.serial)) return true;
        say(`fresh handshake ${from.nodeId} -> ${to.nodeId} saw caller ${res.serial} (want ${from.serial}), server ${serverSerial} (want ${to.serial})`);
      } catch (err) {
        say(`fresh handshake ${from.nodeId} -> ${to.nodeId} failed in phase ${phase}: ${(err as Error).message}`);
      } finally {
        client.close();
      }
      return false;
    };
    // One at a time, for the same reason as prepare(): twelve concurrent handshakes + authorizations on one
    // loop are a burst that no single agent sees.
    const handshakeAll = async () => {
      for (const p of pairs) {
        freshHandshakes++;
        if (!(await freshHandshake(p.from, p.to))) freshHandshakeFailures++;
      }
    };

    // Fixed pacing: each step rotateEveryMs after the previous one.
    let nextStepAt = performance.now();
    const pace = async (name: string) => {
      nextStepAt = Math.max(nextStepAt + rotateEveryMs, performance.now());
      await sleep(nextStepAt - performance.now());
      setPhase(name);
    };

    // --- leaf rotations under A -------------------------------------------------------------------------------
    for (let r = 1; r <= leafRotations; r++) {
      // Keys and certificates are made before the rotation instant: in production the CA signs elsewhere.
      const next = await prepare(signerA);
      await pace(`leaf-rotation-${r}`);
      beginStep(signerA, [rootA.certPem]);
      await eachAgent((a, i) => install(a, next[i]!, [rootA.certPem]));
      await handshakeAll();
    }

    // --- root rotation A → B, the phases of ca/root-rotation.ts ----------------------------------------------
    if (rootRotation) {
      const rootB = await newRoot('CN=soak root B');
      const crossX = await crossSignRoot(rootB.certPem, rootA.certPem, rootA.keyPem);
      const both = [rootA.certPem, rootB.certPem];
      allRoots.push(rootB.certPem);
      // 1: everyone trusts {A, B}; identities unchanged (leaf(A)).
      await pace('root-1-trust-A+B');
      beginStep(signerA, both, [crossX]);
      await eachAgent((a) => installTrust(a, both, [crossX]));
      await handshakeAll();
      // 2: leaves re-issued under B and presented as [leaf(B), X], which an A-only peer would accept too.
      const signerBX = await createSigner(rootB.certPem, rootB.keyPem, [crossX]);
      const underBX = await prepare(signerBX);
      await pace('root-2-leaf(B)+X');
      beginStep(signerBX, both, [crossX]);
      await eachAgent((a, i) => install(a, underBX[i]!, both, [crossX]));
      const convergedAt = performance.now();
      await handshakeAll();
      // A is dropped on evidence, as the CA finishes (ca/root-rotation.ts readyToFinish): once no live leg of
      // any stream (in use, being confirmed, or draining after its move) and no served stream involves a
      // certificate issued by A. Before, the soak waited a fixed 1.5 connection ages (6 s), the CA's upper
      // bound for nodes that never report; with the default 30 min age that bound is 45 min and evidence comes
      // in seconds, but at the soak's 4 s age a starved process still had streams draining from leaf(A)
      // connections when the 6 s were up (21 legs of one pair, seen twice). The soak bounds its wait by the
      // leaves' lifetime instead, and reports it (finishWaitMs).
      const signerB = await createSigner(rootB.certPem, rootB.keyPem);
      const underB = await prepare(signerB);
      const printA = fingerprint(rootA.certPem);
      const fromA = (cert: string | Uint8Array | undefined) => cert !== undefined && certInfo(cert, allRoots).root === printA;
      const aInUse = () =>
        streams.some((st) => st.rs.liveLegs().some((leg) => fromA(leg.ownCertificatePem) || fromA(leg.peerCertificateDer))) ||
        agents.some((a) => a.registry.streams().some((served) => fromA(served.der)));
      // Every 100 ms, as an agent looks at its evidence every 250 ms (agent/live-credentials.ts).
      await until(() => !aInUse(), LEAF_TTL_MS, 'no stream to involve a certificate of root A', 100).catch((err: Error) => say(`${err.message}: dropping A anyway, as the CA's timer would`));
      finishWaitMs = performance.now() - convergedAt;
      // 3: trust {B} only; leaves under B with chain [leaf].
      await pace('root-3-trust-B');
      beginStep(signerB, [rootB.certPem]);
      await eachAgent((a, i) => install(a, underB[i]!, [rootB.certPem]));
      await handshakeAll();
    }

    // One more connection age of plain soaking: a failure on the connection cycle after the last step counts.
    await pace('tail');
    await sleep(maxAgeMs);
    setPhase();
    measuring = false;
    clearInterval(sampler);
    sample();
    // No renewal once pinging stops: a stream confirms its move with an answer, so a renewal now would leave
    // every stream on its previous leg and count it off its server's current certificate. The leaves in force
    // have at least half their life (15 s) left, more than the LOST_AFTER_MS below.
    clearInterval(renewer);

    // Lost: pings never answered. Pinging stops, and the answers in flight (some on a stream still moving) get
    // LOST_AFTER_MS to arrive.
    for (const st of streams) {
      clearTimeout(st.timers.start);
      clearInterval(st.timers.every);
    }
    await until(() => streams.every((st) => st.outstanding.size === 0), LOST_AFTER_MS, 'the last pongs').catch(() => {});
    heartbeatsLost = sum((st) => st.outstanding.size);
    streamsOnCurrentServerCert = streams.filter((st) => st.rs.current?.peerSerial === st.to.serial).length;
    streamEnds = streams.filter((st) => !st.rs.connected).length;
    say(`${streamsOnCurrentServerCert}/${nStreams} streams run on their server's current certificate; ${sum((st) => st.rs.refreshes)} refreshes`);
  } finally {
    // --- clean stop: half-close every stream (the server ends its side), then channels, then servers ----------
    closing = true;
    clearInterval(sampler);
    clearInterval(renewer);
    loop.disable();
    for (const s of streams) {
      clearTimeout(s.timers.start);
      clearInterval(s.timers.every);
    }
    await Promise.all(streams.map((s) => s.rs.stop()));
    for (const p of pairs) p.shared?.client.close();
    await Promise.all(agents.map((a) => shutdownServer(a.server, 5_000)));
  }

  const gapQuantile = (q: number) => {
    const rank = Math.ceil(q * gapHist.reduce((n, c) => n + c, 0));
    for (let ms = 0, seen = 0; ms <= GAP_BUCKETS && rank > 0; ms++) if ((seen += gapHist[ms]!) >= rank) return ms;
    return 0;
  };
  const p99GapMs = gapQuantile(0.99);
  say(`heartbeat gaps (ms, cadence ${heartbeatMs}): p50 ${gapQuantile(0.5)}, p90 ${gapQuantile(0.9)}, p99 ${p99GapMs}, p99.9 ${gapQuantile(0.999)}, max ${maxGapMs.toFixed(1)}`);
  const round1 = (x: number) => Math.round(x * 10) / 10;
  return {
    agents: nAgents, streams: nStreams, leafRotations, rootRotation,
    heartbeats, streamErrors: sum((st) => st.rs.errors), streamEnds, reconnects, freshHandshakes, freshHandshakeFailures, freshHandshakeMaxMs: Math.round(freshHandshakeMaxMs),
    refreshes: sum((st) => st.rs.refreshes), refreshFailures: sum((st) => st.rs.refreshFailures), heartbeatsLost,
    untrustedStreamsMax, untrustedSamples, untrustedSampledLegsMax, streamsOnCurrentServerCert,
    maxGapMs: round1(maxGapMs), p99GapMs, seconds: round1((performance.now() - t0) / 1000),
    heartbeatMs, reconnectFailures, eventLoopMaxDelayMs: round1(loopMaxMs), lateRenewals, finishWaitMs: Math.round(finishWaitMs),
  };
}
