// How the soak's coordinator (the CA's side and the driver: soak.ts) talks to its agents (soak-agent.ts): one
// request/reply protocol, carried either by plain calls (every agent in the coordinator's process, the soak's
// shape until December 2026) or over IPC to one child process per agent (soak-agent-main.ts), as production runs
// them: each agent's servers, streams, TLS and renewal work on an event loop of its own, the CA's signing on
// another. No private key crosses it: an agent makes its key and CSR itself and gets back only the chain.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Issued } from './soak-pki.js';

export interface AgentConfig {
  nodeId: string;
  heartbeatMs: number;
  maxConnectionAgeMs: number;
}

/** What the agent verifies itself with, and what it knows of its peers' trust (to check its own certificate on its legs). */
export interface TrustUpdate {
  rootsPem: string[];
  crossSignedPem: string[];
  /** Every root of the soak so far: to name the root that issued a certificate. */
  allRootsPem: string[];
  /** Each peer's bundle as the coordinator installs it. */
  peerRootsPem: Record<string, string[]>;
}

/** Per phase, per agent process. */
export interface PhaseStats {
  nodeId: string;
  /** Largest gap between consecutive pongs of this agent's streams in the phase (ms). */
  maxGapMs: number;
  /** Worst event-loop delay and loop utilization of the agent's process in the phase. */
  loopMaxMs: number;
  busy: number;
  liveLegs: number;
  channelsOpen: number;
  /** The most CPU the process used within any ping interval of the phase (ms), and its CPU per second of the phase. */
  cpuBurstMs: number;
  cpuPerSecondMs: number;
}

export interface FinalStats {
  nodeId: string;
  heartbeats: number;
  streamErrors: number;
  streamEnds: number;
  refreshes: number;
  refreshFailures: number;
  heartbeatsLost: number;
  reconnects: number;
  reconnectFailures: number;
  streamsOnCurrentServerCert: number;
  streams: number;
  maxGapMs: number;
  /** Gap histogram in 1 ms buckets, sparse: [ms, count]. */
  gaps: [number, number][];
  /** Worst event-loop delay while measuring (ms). */
  loopMaxMs: number;
  /** The most CPU the process used within any ping interval while measuring (ms). */
  cpuBurstMs: number;
  /** Gaps over cadence + 100 ms by where they happened (a leg switch, within 1 s after one, the same leg) and phase; the worst, explained. */
  gapsOverTarget: string[];
  worstGaps: string[];
  /** CPU time of the agent's process while measuring (s), and the pongs received meanwhile: equal CPU for every agent when they share one process. */
  measuredCpuS: number;
  measuredHeartbeats: number;
}

export type Request =
  | { op: 'init'; config: AgentConfig }
  /** A fresh key (kept by the agent under `token`) and its CSR. */
  | { op: 'csr' }
  /** First identity: install it and start serving. Reply: address. */
  | { op: 'serve'; token: number; issued: Issued; trust: TrustUpdate }
  /** Open `streams` heartbeat streams to each peer. */
  | { op: 'connect'; peers: { nodeId: string; address: string; streams: number }[] }
  | { op: 'up' }
  /** New identity (and trust), as the agent installs a renewal: the provider, the handlers' trust, then the streams it serves are asked to move. */
  | { op: 'install'; token: number; issued: Issued; trust: TrustUpdate }
  | { op: 'installTrust'; trust: TrustUpdate }
  /** Live legs and served streams on an expired or untrusted certificate. */
  | { op: 'sample' }
  /** Does any live leg or served stream involve a certificate issued by the root with this fingerprint? */
  | { op: 'usesRoot'; fingerprint: string }
  /** WhoAmI over a new connection to a peer. */
  | { op: 'probe'; to: string; address: string; deadlineMs: number }
  /** Ends the current phase (its stats are the reply) and starts `next`; `measure` starts or stops gap measurement. */
  | { op: 'phase'; next: string; measure: boolean }
  | { op: 'stopPinging' }
  | { op: 'outstanding' }
  | { op: 'final'; peerSerials: Record<string, string> }
  | { op: 'stop' };

export interface Replies {
  init: { pid: number };
  csr: { token: number; csrDer: Uint8Array };
  serve: { address: string };
  connect: Record<string, never>;
  up: { up: number; streams: number };
  install: Record<string, never>;
  installTrust: Record<string, never>;
  sample: { bad: number; legs: number; why: [string, number][] };
  usesRoot: { inUse: boolean };
  probe: { callerSerial?: string; serverSerial?: string; ms: number; error?: string };
  phase: PhaseStats;
  stopPinging: Record<string, never>;
  outstanding: { outstanding: number };
  final: FinalStats;
  stop: Record<string, never>;
}

export type Reply<R extends Request> = Replies[R['op']];

/** One agent as the coordinator sees it, wherever it runs. */
export interface AgentHost {
  request<R extends Request>(req: R): Promise<Reply<R>>;
  close(): Promise<void>;
}

/** The handler side: soak-agent.ts's SoakAgent. */
export interface AgentHandler {
  handle(req: Request): Promise<unknown>;
}

/** An agent in the coordinator's own process: the requests are calls. */
export class LocalHost implements AgentHost {
  constructor(private readonly agent: AgentHandler) {}
  request<R extends Request>(req: R): Promise<Reply<R>> {
    return this.agent.handle(req) as Promise<Reply<R>>;
  }
  async close(): Promise<void> {}
}

export type ChildMessage = { id: number; reply?: unknown; error?: string } | { log: string };

/** An agent in a child process of its own (soak-agent-main.ts): the requests go over IPC. */
export class ChildHost implements AgentHost {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (r: unknown) => void; reject: (e: Error) => void }>();
  #nextId = 0;
  #exited: Promise<void>;

  constructor(log: (line: string) => void) {
    // Only what it needs in its environment (nothing secret is in it anyway); the tsx loader comes through
    // execArgv. HITLESS_SOAK_AGENT_NODE_ARGS adds node flags for the agents (e.g. "--cpu-prof --cpu-prof-dir=DIR").
    const extra = (process.env.HITLESS_SOAK_AGENT_NODE_ARGS ?? '').split(' ').filter(Boolean);
    this.#child = fork(fileURLToPath(new URL('./soak-agent-main.ts', import.meta.url)), [], {
      execArgv: [...process.execArgv, ...extra],
      env: { PATH: process.env.PATH },
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#exited = new Promise((resolve) => this.#child.once('exit', () => resolve()));
    this.#child.on('message', (m: ChildMessage) => {
      if ('log' in m) return log(m.log);
      const p = this.#pending.get(m.id);
      this.#pending.delete(m.id);
      if (m.error !== undefined) p?.reject(new Error(m.error));
      else p?.resolve(m.reply);
    });
    this.#child.once('exit', (code, signal) => {
      for (const p of this.#pending.values()) p.reject(new Error(`soak agent process exited (${code ?? signal})`));
      this.#pending.clear();
    });
  }

  request<R extends Request>(req: R): Promise<Reply<R>> {
    return new Promise((resolve, reject) => {
      if (this.#child.exitCode !== null || this.#child.signalCode !== null) return reject(new Error('soak agent process is gone'));
      const id = this.#nextId++;
      this.#pending.set(id, { resolve: resolve as (r: unknown) => void, reject });
      this.#child.send({ id, req });
    });
  }

  /** Closing the IPC channel ends the child (soak-agent-main.ts exits on 'disconnect'); killed if it lingers. */
  async close(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    if (this.#child.connected) this.#child.disconnect();
    const timer = setTimeout(() => this.#child.kill(), 5_000);
    await this.#exited;
    clearTimeout(timer);
  }
}
