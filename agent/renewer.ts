// The renewal loop: sleep until the scheduled point, renew, repeat; on failure back off with full jitter.
// Time comes from the injected Clock, randomness from the injected `random`, so tests drive it exactly.
// One loop per process, renewals strictly one at a time; renewNow() only wakes the loop early.
import { EventEmitter } from 'node:events';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import { metrics } from '../shared/metrics.js';
import { backoffDelayMs, isExpired, nextRenewalAt, type BackoffOptions, type Lifetime } from './renewal-schedule.js';

export interface RenewerDeps {
  clock: Clock;
  log: Logger;
  random?: () => number;
  /** The certificate currently in use. */
  current: () => Lifetime;
  /** Performs one renewal (new key, CSR, RPC, save, swap). Throws on failure. */
  renew: () => Promise<void>;
  backoff?: BackoffOptions;
}

/** The operator's hint of a HitlessError (the log writes errors as name/message/code only). */
const hintOf = (err: unknown): { hint?: string } => {
  const hint = (err as { hint?: unknown })?.hint;
  return typeof hint === 'string' ? { hint } : {};
};

export type RenewerState = 'scheduled' | 'renewing' | 'backing-off' | 'expired' | 'stopped';

/** Events: 'renewed', 'renewal-failed' (err, attempt, retryInMs), 'expired'. */
export class Renewer extends EventEmitter {
  #state: RenewerState = 'stopped';
  #nextAt: Date | undefined;
  #attempt = 0;
  #stop = new AbortController();
  #wake: AbortController | undefined;
  #loop: Promise<void> | undefined;

  constructor(private readonly deps: RenewerDeps) {
    super();
  }

  get state(): RenewerState {
    return this.#state;
  }
  get nextRenewalAt(): Date | undefined {
    return this.#nextAt;
  }
  get failedAttempts(): number {
    return this.#attempt;
  }

  start(): void {
    if (this.#loop) return;
    this.#stop = new AbortController();
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    this.#wake?.abort();
    await this.#loop;
    this.#loop = undefined;
    this.#state = 'stopped';
  }

  /** Renew as soon as possible (CA request, root rotation). During a renewal, one more follows it. */
  renewNow(reason: string): void {
    this.deps.log.info('renewal.requested', { reason });
    this.#forced = true;
    this.#wake?.abort();
  }
  #forced = false;

  async #run(): Promise<void> {
    const { clock, log, random = Math.random } = this.deps;
    const stop = this.#stop.signal;
    while (!stop.aborted) {
      const cert = this.deps.current();
      const now = clock.now();
      if (isExpired(cert, now)) {
        this.#state = 'expired';
        this.#nextAt = undefined;
        log.error('identity.expired', {
          notAfter: cert.notAfter,
          hint: 'the node certificate expired (the agent was offline or the CA unreachable for its whole lifetime); it cannot renew itself. Re-join: restart the agent with --token-file <file> or HITLESS_JOIN_TOKEN holding a current join token (ca join-token worker on the CA host)',
        });
        this.emit('expired');
        return;
      }
      let waitMs: number;
      if (this.#forced) {
        waitMs = 0;
      } else if (this.#attempt === 0) {
        waitMs = nextRenewalAt(cert, now, random).getTime() - now.getTime();
        this.#state = 'scheduled';
      } else {
        waitMs = backoffDelayMs(this.#attempt, random, this.deps.backoff, { now, notAfter: cert.notAfter });
        this.#state = 'backing-off';
      }
      this.#nextAt = new Date(now.getTime() + waitMs);
      if (waitMs > 0) {
        this.#wake = new AbortController();
        const signal = AbortSignal.any([stop, this.#wake.signal]);
        try {
          await clock.sleep(waitMs, signal);
        } catch {
          if (stop.aborted) return;
          // Woken early by renewNow(): fall through and renew.
        }
      }
      this.#forced = false;
      this.#state = 'renewing';
      try {
        await this.deps.renew();
        this.#attempt = 0;
        metrics.agentRenewals.inc({ result: 'ok' });
        this.emit('renewed');
      } catch (err) {
        if (stop.aborted) return;
        this.#attempt++;
        metrics.agentRenewals.inc({ result: 'failed' });
        log.warn('renewal.failed', { attempt: this.#attempt, err, ...hintOf(err) });
        this.emit('renewal-failed', err, this.#attempt);
      }
    }
  }
}
