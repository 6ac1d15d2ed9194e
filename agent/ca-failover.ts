// The thin driver of the CA endpoint policy (agent/ca-endpoints.ts): one per agent, shared by everything that
// talks to the CA (join, trust bundle fetch, renewals, the CA watch), so that what one of them learns (A is
// down) the others use at once. It owns the clock, the randomness, the log events and the counter; the decisions
// are the policy's.
//
// A unary operation makes one tour: it tries the address in use, and after a transport failure waits
// caHopDelayMs (full jitter over 0-1 s) and tries the next one, each address at most once. If every address failed, the
// operation fails and its caller's own schedule decides when to try again (the Renewer: full-jitter backoff
// bounded by the certificate's remaining life). Streams report each attempt with report() and take their
// reconnect delay from retryDelayMs().
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import { HitlessError } from '../shared/errors.js';
import { metrics } from '../shared/metrics.js';
import { escapedPrefix } from '../shared/untrusted.js';
import {
  caHopDelayMs, caRetryDelayMs, caStartIndex, classifyCaFailure, currentAddress, initialCaState, onCaOutcome,
  type CaEndpointState, type CaOutcome, type CaStart,
} from './ca-endpoints.js';

/** What the agent was doing with the CA; a label of hitless_agent_ca_failovers_total and of the log event. */
export type CaOperation = 'bundle' | 'join' | 'renew' | 'watch';

export interface CaEndpointStatus {
  /** The address in use. */
  address: string;
  addresses: string[];
  failovers: number;
  /** Transport failures in a row (0 once any CA answers). */
  failures: number;
}

export class CaFailover {
  #state: CaEndpointState;

  constructor(
    addresses: readonly string[],
    private readonly deps: { clock: Clock; log: Logger; random?: () => number },
    start: CaStart = 'first',
  ) {
    this.#state = initialCaState([...addresses], caStartIndex(start, addresses.length, deps.random ?? Math.random));
  }

  get current(): string {
    return currentAddress(this.#state);
  }

  get addresses(): readonly string[] {
    return this.#state.addresses;
  }

  status(): CaEndpointStatus {
    const s = this.#state;
    return { address: currentAddress(s), addresses: [...s.addresses], failovers: s.failovers, failures: s.failures };
  }

  /**
   * Runs `fn` against the address in use; on a transport failure moves to the next address and tries again,
   * once per address. An answer of the CA (any other error) is thrown at once. After a whole tour failed, throws
   * the only error (one address) or an UNAVAILABLE naming every address tried. Once `signal` aborts, no further
   * address is tried (the wait between hops ends with the AbortError).
   */
  async call<T>(operation: CaOperation, fn: (address: string) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const tried: { address: string; err: unknown }[] = [];
    for (;;) {
      signal?.throwIfAborted();
      const address = this.current;
      let result: T;
      try {
        result = await fn(address);
      } catch (err) {
        this.report(operation, address, err);
        if (classifyCaFailure(err) === 'answer') throw err;
        tried.push({ address, err });
        if (tried.length >= this.#state.addresses.length || tried.some((t) => t.address === this.current)) throw tourFailed(tried);
        await this.deps.clock.sleep(caHopDelayMs(this.deps.random), signal);
        continue;
      }
      this.report(operation, address, undefined);
      return result;
    }
  }

  /** The outcome of one attempt at `address` (undefined: it worked), from call() or a stream. */
  report(operation: CaOperation, address: string, err: unknown): void {
    const outcome: CaOutcome = err === undefined ? { kind: 'ok' } : { kind: classifyCaFailure(err) };
    const { state, failover } = onCaOutcome(this.#state, address, outcome);
    this.#state = state;
    if (!failover) return;
    metrics.agentCaFailovers.inc({ operation });
    this.deps.log.warn('ca.failover', {
      operation,
      from: failover.from,
      to: failover.to,
      code: (err as { code?: unknown } | undefined)?.code,
      reason: reasonOf(err),
      failures: state.failures,
      failovers: state.failovers,
    });
  }

  /**
   * Reconnect delay for a stream that failed `streamFailures` times in a row: full jitter over the larger of
   * that count and the agent's transport failures in a row, so a stream the CA keeps refusing (an answer, which
   * does not count as a transport failure) still backs off.
   */
  retryDelayMs(streamFailures: number): number {
    return caRetryDelayMs(Math.max(1, streamFailures, this.#state.failures), this.deps.random);
  }
}

function tourFailed(tried: { address: string; err: unknown }[]): unknown {
  if (tried.length === 1) return tried[0]!.err;
  const what = tried.map((t) => `${t.address}: ${reasonOf(t.err)}`).join(', ');
  return new HitlessError('UNAVAILABLE', `no CA address answered: ${what}`, {
    cause: tried[tried.length - 1]!.err,
    hint: 'check that at least one of the --ca addresses runs ca serve and is reachable from this node',
  });
}

/**
 * A bounded, escaped excerpt of why an attempt failed. The text may come from an unverified server (the
 * bootstrap fetch), so it is treated as untrusted input.
 */
function reasonOf(err: unknown): string {
  const e = err as { details?: unknown; message?: unknown } | undefined;
  return escapedPrefix(String(e?.details || e?.message || err), 160);
}
