// The renewal storm that scenarios 1 (CA SIGKILL) and 8 (replica SIGKILL) run against: every node renews in a
// loop with the certificate it holds, as fast as the CA answers. The scenario pauses the storm to read records
// with every node's call settled (`pause` resolves once all nodes are parked), then resumes it.
import { setTimeout as delay } from 'node:timers/promises';
import { renewNode, type TestNode } from '../helpers/node-identity.js';
import { Signal, errorCode, outageError, type Prng } from './common.js';

export interface StormNode {
  id: string;
  held: TestNode;
  /** The index of the CA address this node calls now (scenario 8 fails over between replicas). */
  at: number;
}

export interface StormOptions<N extends StormNode> {
  addresses: string[];
  roots: string[];
  rng: Prng;
  /** Called with each certificate a node received, before it becomes the one the node holds. */
  onRenewed?: (n: N, next: TestNode) => void;
  /** Move to the next address after an outage error, as agents with `--ca a,b,c` do. */
  failover?: boolean;
}

export class RenewalStorm<N extends StormNode = StormNode> {
  readonly signal = new Signal();
  /** Refusals that no outage explains, by gRPC code and message (a finding). */
  readonly refusals = new Map<string, number>();
  accepted = 0;
  /** When the first renewal after `markRecovery` was accepted (0: not yet). */
  firstAcceptedAt = 0;
  #paused = false;
  #parked = 0;
  #stopped = false;
  #resume: () => void = () => {};
  #resumed = Promise.resolve();
  readonly #loops: Promise<void>[];

  constructor(
    readonly nodes: N[],
    private readonly o: StormOptions<N>,
  ) {
    this.#loops = nodes.map((n) => this.#loop(n));
  }

  async #loop(n: N): Promise<void> {
    while (!this.#stopped) {
      if (this.#paused) {
        this.#parked++;
        this.signal.poke();
        await this.#resumed;
        this.#parked--;
        continue;
      }
      try {
        const next = await renewNode(this.o.addresses[n.at]!, n.held, this.o.roots);
        this.o.onRenewed?.(n, next);
        n.held = next;
        this.accepted++;
        if (!this.firstAcceptedAt) this.firstAcceptedAt = Date.now();
        this.signal.poke();
      } catch (err) {
        if (!outageError(err)) this.refusals.set(errorCode(err), (this.refusals.get(errorCode(err)) ?? 0) + 1);
        else if (this.o.failover) n.at = (n.at + 1) % this.o.addresses.length;
        // A client's retry pace while the CA is down (not a wait for a condition).
        await delay(5 + this.o.rng.int(20));
      }
    }
  }

  /** Resolves once every node has renewed once more (on average) since the call. */
  roundDone(what: string, ms = 60_000): Promise<void> {
    const base = this.accepted;
    return this.signal.until(() => this.accepted >= base + this.nodes.length, ms, what);
  }

  /** Forget the last accepted renewal: `recovered` then waits for the next one. */
  markRecovery(): void {
    this.firstAcceptedAt = 0;
  }

  recovered(what: string, ms = 60_000): Promise<void> {
    return this.signal.until(() => this.firstAcceptedAt > 0, ms, what);
  }

  /** Parks every node once its call in flight has settled. */
  async pause(): Promise<void> {
    this.#resumed = new Promise((res) => (this.#resume = res));
    this.#paused = true;
    await this.signal.until(() => this.#parked === this.nodes.length, 30_000, 'every node to park');
  }

  resume(): void {
    this.#paused = false;
    this.#resume();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.resume();
    await Promise.all(this.#loops);
  }

  /** Each node renews once more, trying every address on outage errors; returns how many were refused. */
  async lockedOut(onProblem: (line: string) => void): Promise<number> {
    let locked = 0;
    for (const n of this.nodes) {
      let lastErr: unknown;
      for (let i = 0; i < this.o.addresses.length; i++) {
        try {
          n.held = await renewNode(this.o.addresses[(n.at + i) % this.o.addresses.length]!, n.held, this.o.roots);
          lastErr = undefined;
          break;
        } catch (err) {
          lastErr = err;
          if (!outageError(err)) break; // a refusal: another replica would refuse it too
        }
      }
      if (lastErr !== undefined) {
        locked++;
        onProblem(`node ${n.id} cannot renew after the campaign: ${errorCode(lastErr)}`);
      }
    }
    return locked;
  }

  refusalProblems(): string[] {
    return [...this.refusals].map(([k, v]) => `${v} renewal(s) refused during the storm (not an outage error): ${k}`);
  }
}
