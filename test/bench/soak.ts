// The "hitless soak" (figure 5): N agents hold long-lived Heartbeat streams (250 by default) to each other while
// every agent's leaf is rotated 10 times and the cluster root once (A → B through the cross-signed X). Hitless
// means: no stream errors or ends, no heartbeat stalls, and fresh handshakes after every step that present and
// see the new certificates. The agents (soak-agent.ts) are built from the product's own pieces — one
// MemoryCertificateProvider per agent feeding its server and its channels, the real NodeService handlers (with
// their per-stream authorization), RefreshingStreams as PeerLink runs them — so what it measures is the product.
//
// Shape, as production: every agent runs in a process of its own (soak-agent-main.ts), one agent per core as
// each real agent has its machine to itself (2 on a 2-core machine, at most 4), and this process is the CA and the driver — it makes the roots, signs each agent's CSR (the agent makes its key and CSR itself), and
// paces the steps. Until December 2026 all of it shared one event loop: four agents' servers and clients, ~250
// streams, TLS, the CA's signing; a heartbeat stall then measured that one loop being busy for everyone at once
// (test/bench/HISTORY.md), not anything a real agent sees. `agentProcesses: false` still runs that shape (A/B).
//
// The streams move make-before-break to a new connection whenever either end's certificate or bundle changes,
// the server asks (its StreamBound: agent/node-service.ts), or a connection drains at its max age. Every second
// the soak asks every agent for its live legs and served streams on an expired or untrusted certificate: either
// end's certificate past its notAfter, or issued by a root no longer in the bundle of the end that checks it
// (target 0 at every sample). Leaves issued by the rotations live LEAF_TTL_MS, so a stream left on an old one
// would be seen expired within the soak, not only untrusted after the root rotation.
//
// Deliberately: a stream that fails is counted (RefreshingStream's errors: failures of the stream in use, never
// the moves); conditions are polled against deadlines, never slept for; only the pacing between rotations is
// fixed (it is a soak).
import { availableParallelism } from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { crossSignRoot } from '../../shared/pki/roots.js';
import { createSigner, type Signer } from '../../ca/issuer.js';
import { HOUR_MS, LEAF_TTL_MS, fingerprint, issueFromCsr, newRoot, type Issued } from './soak-pki.js';
import { ChildHost, LocalHost, type AgentHost, type PhaseStats, type TrustUpdate } from './soak-host.js';
import { SoakAgent } from './soak-agent.js';

export interface SoakResult {
  agents: number; streams: number; leafRotations: number; rootRotation: boolean;
  /** True: one process per agent, the CA and driver in this one (production's shape); false: all in this process. */
  agentProcesses: boolean;
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
  /** Worst event-loop delay of an agent's process while measuring: how much of a gap is the agents stalling, not the network. */
  eventLoopMaxDelayMs: number;
  /** Worst event-loop delay of this (the CA's and driver's) process while measuring; the same loop as the agents' when they share it. */
  coordinatorLoopMaxDelayMs: number;
  /** Per measured phase: the largest gap, the worst loop delay of the agents' processes and of this one (ms). */
  phases: { name: string; maxGapMs: number; agentLoopMaxMs: number; coordinatorLoopMaxMs: number; agentCpuBurstMs: number }[];
  /**
   * The most CPU one agent's process used within any ping interval while measuring (ms): load-independent (a busy
   * machine stretches a burst in wall time, not in CPU), and on idle cores the longest that process could hold a
   * heartbeat back. When the agents share one process, that process's.
   */
  agentCpuBurstMs: number;
  /**
   * CPU time (s) while measuring (steady phase to the end of the tail) of the agents' processes (the one process
   * when they share it) and of this one besides, and all of it per pong received meanwhile (µs): the load-independent
   * cost of the soak's work.
   */
  agentCpuS: number; coordinatorCpuS: number; cpuPerHeartbeatUs: number;
  /** Leaves renewed because a step ran past half their life (0 unless the process was starved). */
  lateRenewals: number;
  /** Root rotation: from the last leaf(B) installed to no stream involving a certificate of A (the evidence the CA finishes on). */
  finishWaitMs: number;
}

/** Defaults: a process per agent, one agent per core (2 to 4; 4 in one process), 250 streams, 10 leaf rotations, a root rotation, 100 ms pings, 4 s connection age. */
export interface SoakOptions {
  agents?: number; streams?: number; leafRotations?: number; rootRotation?: boolean;
  heartbeatMs?: number; maxConnectionAgeMs?: number; log?: (line: string) => void;
  /** One process per agent (default), or every agent in this process (the soak's shape before December 2026). */
  agentProcesses?: boolean;
  /** Called when a phase starts (diagnostic harnesses attribute what they record to it). */
  onPhase?: (name: string) => void;
}

/**
 * An agent renews at 50-80 % of its certificate's life (agent/renewal-schedule.ts); the soak's renewer at the
 * start of that window. Steps replace every leaf long before (after 3-9 s of 30), so only a step that runs
 * late makes one.
 */
const RENEW_AT = 0.5;
/**
 * A fresh probe that has not completed by then failed. Generous on purpose (it was 5 s): on a starved process a
 * loopback handshake took 3-4.5 s and a whole probe over 5 s without any error on either end (test/bench/HISTORY.md),
 * and "failed handshakes" should count failures; slowness is what 5d-5f and the slowest probe report.
 */
const PROBE_DEADLINE_MS = 20_000;
/** At the end, pings still unanswered this long after pinging stopped are lost. */
const LOST_AFTER_MS = 10_000;
const GAP_BUCKETS = 60_000;

/** One agent as the driver tracks it: where it runs, what it was last given. */
interface Agent {
  nodeId: string;
  host: AgentHost;
  address: string;
  serial: string;
  /** Wall-clock ms at which its renewer would renew the current leaf (RENEW_AT of its life). */
  renewAt: number;
}

/** Polls `cond` every `everyMs` until it holds; throws after `timeoutMs` (a deadline, not a sleep). */
async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string, everyMs = 10): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await cond())) {
    if (performance.now() > deadline) throw new Error(`soak: timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

const renewAtOf = (c: Issued) => c.issuedAt + RENEW_AT * (c.notAfter - c.issuedAt);

export async function benchSoak(opts: SoakOptions = {}): Promise<SoakResult> {
  const agentProcesses = opts.agentProcesses ?? true;
  // One agent per core (2 to 4): a real agent has its machine's cores to itself. Four agent processes on two
  // cores all do a rotation step's work at the same instant and wait for each other's core — the stall then
  // measures the bench machine (test/bench/HISTORY.md: 4 agents on 2 cores 264 ms, 2 agents 148 ms, same run).
  const nAgents = Math.max(2, opts.agents ?? (agentProcesses ? Math.min(4, availableParallelism()) : 4));
  // 250 (it was 1,000 while streams never moved): 1,000 moving streams in one process on 2 cores shared with
  // other work saturated it. 250 streams is still ~21 per ordered pair of agents, 20x a real node's one per peer.
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
  let cpuAtMeasure: NodeJS.CpuUsage | undefined;
  let ownCpuS = 0;
  const write = opts.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const say = (line: string) => write(`[soak +${((performance.now() - t0) / 1000).toFixed(1)}s] ${line}`);

  let closing = false;
  let [freshHandshakes, freshHandshakeFailures, freshHandshakeMaxMs] = [0, 0, 0];
  let [untrustedStreamsMax, untrustedSamples, untrustedSampledLegsMax] = [0, 0, 0];
  let lateRenewals = 0;
  let finishWaitMs = 0;
  let renewer: NodeJS.Timeout | undefined;
  let sampling: Promise<void> | undefined;
  let sampleStop = false;

  // Per phase: worst gap, worst event-loop delay of every process. When a gap is over target this says *when*
  // it happened (rotation instant, connection cycle, CA work...) and whose process stalled.
  const loop = monitorEventLoopDelay({ resolution: 5 });
  let phase = 'warm-up';
  let measuring = false;
  let coordinatorLoopMaxMs = 0;
  const phases: SoakResult['phases'] = [];

  const agents: Agent[] = [];
  // The cluster's bundle as the steps install it (every agent gets the same), and every root seen so far.
  let cluster = { rootsPem: [] as string[], crossSignedPem: [] as string[] };
  const allRoots: string[] = [];
  const trustUpdate = (): TrustUpdate => ({
    ...cluster,
    allRootsPem: [...allRoots],
    peerRootsPem: Object.fromEntries(agents.map((a) => [a.nodeId, cluster.rootsPem])),
  });

  const setPhase = async (next: string, measure = measuring) => {
    const stats: PhaseStats[] = await Promise.all(agents.map((a) => a.host.request({ op: 'phase', next, measure })));
    const own = loop.max / 1e6;
    const agentLoop = Math.max(...stats.map((s) => s.loopMaxMs));
    const gap = Math.max(...stats.map((s) => s.maxGapMs));
    if (measuring) {
      coordinatorLoopMaxMs = Math.max(coordinatorLoopMaxMs, own);
      phases.push({ name: phase, maxGapMs: Math.round(gap), agentLoopMaxMs: Math.round(agentLoop), coordinatorLoopMaxMs: Math.round(own), agentCpuBurstMs: Math.round(Math.max(...stats.map((s) => s.cpuBurstMs))) });
    }
    const perAgent = stats.map((s) => `${s.loopMaxMs.toFixed(0)}/${(s.busy * 100).toFixed(0)}%`).join(' ');
    const cpu = stats.map((s) => `${s.cpuBurstMs.toFixed(0)}/${s.cpuPerSecondMs.toFixed(0)}`).join(' ');
    say(
      `phase ${phase}: max heartbeat gap ${gap.toFixed(1)} ms; event-loop delay max/busy: agents ${perAgent}, CA+driver ${own.toFixed(0)} ms; ` +
        `agents' CPU burst in a ping interval / CPU per s (ms): ${cpu}; ` +
        `shared channels open ${stats.reduce((n, s) => n + s.channelsOpen, 0)}, live legs ${stats.reduce((n, s) => n + s.liveLegs, 0)}`,
    );
    if (measure && !measuring) cpuAtMeasure = process.cpuUsage();
    if (!measure && measuring && cpuAtMeasure) {
      const c = process.cpuUsage(cpuAtMeasure);
      ownCpuS = (c.user + c.system) / 1e6;
    }
    [phase, measuring] = [next, measure];
    opts.onPhase?.(phase);
    loop.reset();
  };

  try {
    // --- the agents: a process each (or all here), then root A and their first identities -------------------
    for (let i = 0; i < nAgents; i++) {
      const nodeId = `soak-node-${i}`;
      const host: AgentHost = agentProcesses ? new ChildHost(say) : new LocalHost(new SoakAgent(say));
      agents.push({ nodeId, host, address: '', serial: '', renewAt: Infinity });
    }
    await Promise.all(agents.map((a) => a.host.request({ op: 'init', config: { nodeId: a.nodeId, heartbeatMs, maxConnectionAgeMs: maxAgeMs } })));
    loop.enable();
    const rootA = await newRoot('CN=soak root A');
    const signerA = await createSigner(rootA.certPem, rootA.keyPem);
    allRoots.push(rootA.certPem);
    cluster = { rootsPem: [rootA.certPem], crossSignedPem: [] };

    /** The agent makes a key and CSR, the CA signs it: the agent's renewal, both halves. */
    const renewal = async (a: Agent, signer: Signer, ttlMs = LEAF_TTL_MS) => {
      const { token, csrDer } = await a.host.request({ op: 'csr' });
      return { token, issued: await issueFromCsr(signer, a.nodeId, csrDer, ttlMs) };
    };
    for (const a of agents) {
      const { token, issued } = await renewal(a, signerA, HOUR_MS);
      a.address = (await a.host.request({ op: 'serve', token, issued, trust: trustUpdate() })).address;
      [a.serial, a.renewAt] = [issued.serial, renewAtOf(issued)];
    }

    // Certificates are made before the rotation instant (keys in the agents, signatures here): in production
    // the CA signs elsewhere, before the agents install.
    const prepare = async (signer: Signer) => {
      const out: { token: number; issued: Issued }[] = [];
      for (const a of agents) out.push(await renewal(a, signer));
      return out;
    };
    /**
     * A step reaches every agent. In their own processes they install at once, each on its own loop; sharing
     * this one, agent by agent with a loop turn in between, so that no single callback holds the loop longer
     * than one agent's share would.
     */
    const eachAgent = async (step: (a: Agent, i: number) => Promise<void>) => {
      if (agentProcesses) return void (await Promise.all(agents.map(step)));
      for (const [i, a] of agents.entries()) {
        await step(a, i);
        await nextTurn();
      }
    };
    const install = async (a: Agent, c: { token: number; issued: Issued }) => {
      await a.host.request({ op: 'install', token: c.token, issued: c.issued, trust: trustUpdate() });
      [a.serial, a.renewAt] = [c.issued.serial, renewAtOf(c.issued)];
    };

    // --- renewals, as each agent's renewer would make them ---------------------------------------------------
    // Steps replace every leaf long before half its life, so on an idle machine this never fires. On a starved
    // one a step can outlast the leaves: a real agent renews on its own schedule whatever the rotation does
    // (test/bench/HISTORY.md). A renewal here is the production one: same root, chain shape and trust as the step in
    // force, installed like any change (streams move). Each is logged and counted (lateRenewals): a non-zero
    // count says a step ran late, i.e. the machine was starved.
    let stepSeq = 0;
    let renewWith = signerA;
    /** A step begins: what a renewal issues from now on. Renewals under way for the previous step are dropped. */
    const beginStep = (signer: Signer, rootsPem: string[], crossSignedPem: string[] = []) => {
      stepSeq++;
      renewWith = signer;
      cluster = { rootsPem, crossSignedPem };
    };
    const renewing = new Set<Agent>();
    const renewDue = () => {
      for (const a of agents) {
        if (closing || renewing.has(a) || Date.now() < a.renewAt) continue;
        renewing.add(a);
        const seq = stepSeq;
        void renewal(a, renewWith)
          .then(async (c) => {
            if (seq !== stepSeq || closing) return;
            await install(a, c);
            lateRenewals++;
            say(`${a.nodeId} renewed in phase ${phase}: the step ran past half its leaf's life (starved)`);
          })
          .catch((err: Error) => closing || say(`${a.nodeId} renewal failed: ${err.message}`))
          .finally(() => renewing.delete(a));
      }
    };
    renewer = setInterval(renewDue, 250);

    // --- the streams: spread over the ordered pairs of agents -----------------------------------------------
    const pairs: { from: Agent; to: Agent; streams: number }[] = [];
    for (const from of agents) for (const to of agents) if (from !== to) pairs.push({ from, to, streams: 0 });
    for (let k = 0; k < nStreams; k++) pairs[k % pairs.length]!.streams++;
    await Promise.all(
      agents.map((a) =>
        a.host.request({ op: 'connect', peers: pairs.filter((p) => p.from === a).map((p) => ({ nodeId: p.to.nodeId, address: p.to.address, streams: p.streams })) }),
      ),
    );
    const upCount = async () => (await Promise.all(agents.map((a) => a.host.request({ op: 'up' })))).reduce((n, r) => n + r.up, 0);
    await until(async () => (await upCount()) === nStreams, 60_000, `${nStreams} streams to deliver a first pong`, 100);
    say(`${nStreams} streams up over ${pairs.length} ordered pairs of ${nAgents} agents (${agentProcesses ? 'a process per agent' : 'all in one process'})`);

    // --- every second: streams on an expired or untrusted certificate -----------------------------------------
    const sample = async () => {
      const replies = await Promise.all(agents.map((a) => a.host.request({ op: 'sample' })));
      const bad = replies.reduce((n, r) => n + r.bad, 0);
      untrustedSamples++;
      untrustedSampledLegsMax = Math.max(untrustedSampledLegsMax, replies.reduce((n, r) => n + r.legs, 0));
      if (bad > untrustedStreamsMax) {
        const why = replies.flatMap((r) => r.why).sort((x, y) => y[1] - x[1]).slice(0, 8).map(([k, n]) => `${k}: ${n}`).join(', ');
        say(`${bad} stream legs on an expired or untrusted certificate in phase ${phase} (${why})`);
      }
      untrustedStreamsMax = Math.max(untrustedStreamsMax, bad);
    };
    sampling = (async () => {
      for (let next = performance.now(); !sampleStop; ) {
        // An agent that cannot answer is a failure the end of the soak reports (its 'final' fails too).
        await sample().catch((err: Error) => say(`sample failed in phase ${phase}: ${err.message}`));
        next += 1000;
        await sleep(Math.max(0, next - performance.now()));
      }
    })();

    // Warm-up is not measured: the stream starts (each authorized by a chain check) and their garbage and
    // first connection cycles spill over; a settle period absorbs that. It lasts one connection age and the move
    // spread (1 s): the first GOAWAY moves every stream, through code not yet compiled (before, the settle was
    // shorter than one age, and that first cycle fell in 'steady': its worst gap, 406 ms with 122 ms of loop
    // delay, against 276-303 ms in every later phase of the same run). Then a rotation-free 'steady' phase gives
    // the baseline that every rotation phase is compared with.
    await setPhase('settle', false);
    await sleep(maxAgeMs + 1_000);
    await setPhase('steady', true);
    await sleep(rotateEveryMs);

    // --- fresh handshakes: a NEW channel per ordered pair, one at a time ------------------------------------
    const handshakeAll = async () => {
      for (const p of pairs) {
        freshHandshakes++;
        // A renewal may land while the probe connects (a late step): then the newer serial is the right one too.
        const [fromSerial, toSerial] = [p.from.serial, p.to.serial];
        const r = await p.from.host.request({ op: 'probe', to: p.to.nodeId, address: p.to.address, deadlineMs: PROBE_DEADLINE_MS });
        const ok = r.error === undefined && [fromSerial, p.from.serial].includes(r.callerSerial!) && [toSerial, p.to.serial].includes(r.serverSerial!);
        if (r.error !== undefined) say(`fresh handshake ${p.from.nodeId} -> ${p.to.nodeId} failed in phase ${phase}: ${r.error}`);
        else if (!ok) say(`fresh handshake ${p.from.nodeId} -> ${p.to.nodeId} saw caller ${r.callerSerial} (want ${p.from.serial}), server ${r.serverSerial} (want ${p.to.serial})`);
        else freshHandshakeMaxMs = Math.max(freshHandshakeMaxMs, r.ms);
        if (!ok) freshHandshakeFailures++;
      }
    };

    // Fixed pacing: each step rotateEveryMs after the previous one.
    let nextStepAt = performance.now();
    const pace = async (name: string) => {
      nextStepAt = Math.max(nextStepAt + rotateEveryMs, performance.now());
      await sleep(nextStepAt - performance.now());
      await setPhase(name);
    };

    // --- leaf rotations under A -------------------------------------------------------------------------------
    for (let r = 1; r <= leafRotations; r++) {
      const next = await prepare(signerA);
      await pace(`leaf-rotation-${r}`);
      beginStep(signerA, [rootA.certPem]);
      await eachAgent((a, i) => install(a, next[i]!));
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
      await eachAgent(async (a) => void (await a.host.request({ op: 'installTrust', trust: trustUpdate() })));
      await handshakeAll();
      // 2: leaves re-issued under B and presented as [leaf(B), X], which an A-only peer would accept too.
      const signerBX = await createSigner(rootB.certPem, rootB.keyPem, [crossX]);
      const underBX = await prepare(signerBX);
      await pace('root-2-leaf(B)+X');
      beginStep(signerBX, both, [crossX]);
      await eachAgent((a, i) => install(a, underBX[i]!));
      const convergedAt = performance.now();
      await handshakeAll();
      // A is dropped on evidence, as the CA finishes (ca/root-rotation.ts readyToFinish): once no live leg of
      // any stream (in use, being confirmed, or draining after its move) and no served stream involves a
      // certificate issued by A. The production bound for nodes that never report is 1.5 connection ages (45 min
      // by default); the soak bounds its wait by the leaves' lifetime instead, and reports it (finishWaitMs).
      const signerB = await createSigner(rootB.certPem, rootB.keyPem);
      const underB = await prepare(signerB);
      const printA = fingerprint(rootA.certPem);
      const aInUse = async () => (await Promise.all(agents.map((a) => a.host.request({ op: 'usesRoot', fingerprint: printA })))).some((r) => r.inUse);
      // Every 100 ms, as an agent looks at its evidence every 250 ms (agent/live-credentials.ts).
      await until(async () => !(await aInUse()), LEAF_TTL_MS, 'no stream to involve a certificate of root A', 100).catch((err: Error) => say(`${err.message}: dropping A anyway, as the CA's timer would`));
      finishWaitMs = performance.now() - convergedAt;
      // 3: trust {B} only; leaves under B with chain [leaf].
      await pace('root-3-trust-B');
      beginStep(signerB, [rootB.certPem]);
      await eachAgent((a, i) => install(a, underB[i]!));
      await handshakeAll();
    }

    // One more connection age of plain soaking: a failure on the connection cycle after the last step counts.
    await pace('tail');
    await sleep(maxAgeMs);
    await setPhase('end', false);
    sampleStop = true;
    await sampling;
    await sample();
    // No renewal once pinging stops: a stream confirms its move with an answer, so a renewal now would leave
    // every stream on its previous leg and count it off its server's current certificate. The leaves in force
    // have at least half their life (15 s) left, more than the LOST_AFTER_MS below.
    clearInterval(renewer);

    // Lost: pings never answered. Pinging stops, and the answers in flight (some on a stream still moving) get
    // LOST_AFTER_MS to arrive.
    await Promise.all(agents.map((a) => a.host.request({ op: 'stopPinging' })));
    const outstanding = async () => (await Promise.all(agents.map((a) => a.host.request({ op: 'outstanding' })))).reduce((n, r) => n + r.outstanding, 0);
    await until(async () => (await outstanding()) === 0, LOST_AFTER_MS, 'the last pongs', 50).catch(() => {});
    const peerSerials = Object.fromEntries(agents.map((a) => [a.nodeId, a.serial]));
    const finals = await Promise.all(agents.map((a) => a.host.request({ op: 'final', peerSerials })));
    const sum = (f: (s: (typeof finals)[number]) => number) => finals.reduce((n, s) => n + f(s), 0);
    const gapHist = new Uint32Array(GAP_BUCKETS + 1);
    for (const f of finals) for (const [ms, n] of f.gaps) gapHist[ms]! += n;
    const gapQuantile = (q: number) => {
      const rank = Math.ceil(q * gapHist.reduce((n, c) => n + c, 0));
      for (let ms = 0, seen = 0; ms <= GAP_BUCKETS && rank > 0; ms++) if ((seen += gapHist[ms]!) >= rank) return ms;
      return 0;
    };
    const maxGapMs = Math.max(...finals.map((f) => f.maxGapMs));
    const p99GapMs = gapQuantile(0.99);
    say(`${sum((f) => f.streamsOnCurrentServerCert)}/${nStreams} streams run on their server's current certificate; ${sum((f) => f.refreshes)} refreshes`);
    for (const f of finals) if (f.gapsOverTarget.length) say(`${f.nodeId} gaps over cadence + 100 ms: ${f.gapsOverTarget.join('; ')}; worst: ${f.worstGaps.slice(0, 3).join('; ')}`);
    say(`heartbeat gaps (ms, cadence ${heartbeatMs}): p50 ${gapQuantile(0.5)}, p90 ${gapQuantile(0.9)}, p99 ${p99GapMs}, p99.9 ${gapQuantile(0.999)}, max ${maxGapMs.toFixed(1)}`);
    const round1 = (x: number) => Math.round(x * 10) / 10;
    // Sharing one process, every agent reports that process's CPU: it is counted once, as the agents'.
    const agentCpuS = agentProcesses ? sum((f) => f.measuredCpuS) : ownCpuS;
    const coordinatorCpuS = agentProcesses ? ownCpuS : 0;
    return {
      agents: nAgents, streams: nStreams, leafRotations, rootRotation, agentProcesses,
      heartbeats: sum((f) => f.heartbeats), streamErrors: sum((f) => f.streamErrors), streamEnds: sum((f) => f.streamEnds), reconnects: sum((f) => f.reconnects),
      freshHandshakes, freshHandshakeFailures, freshHandshakeMaxMs: Math.round(freshHandshakeMaxMs),
      refreshes: sum((f) => f.refreshes), refreshFailures: sum((f) => f.refreshFailures), heartbeatsLost: sum((f) => f.heartbeatsLost),
      untrustedStreamsMax, untrustedSamples, untrustedSampledLegsMax, streamsOnCurrentServerCert: sum((f) => f.streamsOnCurrentServerCert),
      maxGapMs: round1(maxGapMs), p99GapMs, seconds: round1((performance.now() - t0) / 1000),
      heartbeatMs, reconnectFailures: sum((f) => f.reconnectFailures),
      agentCpuBurstMs: round1(Math.max(...finals.map((f) => f.cpuBurstMs))),
      eventLoopMaxDelayMs: round1(Math.max(...finals.map((f) => f.loopMaxMs))), coordinatorLoopMaxDelayMs: round1(coordinatorLoopMaxMs), phases,
      agentCpuS: round1(agentCpuS), coordinatorCpuS: round1(coordinatorCpuS),
      cpuPerHeartbeatUs: Math.round(((agentCpuS + coordinatorCpuS) * 1e6) / Math.max(1, sum((f) => f.measuredHeartbeats))),
      lateRenewals, finishWaitMs: Math.round(finishWaitMs),
    };
  } finally {
    closing = true;
    sampleStop = true;
    clearInterval(renewer);
    await sampling?.catch(() => {});
    loop.disable();
    await Promise.all(agents.map((a) => a.host.request({ op: 'stop' }).catch((err: Error) => say(`${a.nodeId} did not stop cleanly: ${err.message}`))));
    await Promise.all(agents.map((a) => a.host.close()));
  }
}
