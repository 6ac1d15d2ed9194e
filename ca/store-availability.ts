// Whether the store can take a write now. On etcd a replica is only useful while a quorum of members answers:
// without one every join and renewal fails with STORE_UNAVAILABLE. Health (grpc.health.v1) must say so, so
// that a load balancer or an orchestrator stops sending work to the replica, and the operator sees it in one
// place: `store.unavailable` / `store.available` log events and the `hitless_ca_store_available` gauge.
//
// The evidence is a quorum read (etcd's linearizable range, which needs the leader and a majority) every
// `intervalMs`, bounded by `timeoutMs`; two misses in a row make the store unavailable (one slow read on a
// loaded machine is not an outage), the first success makes it available again. The embedded store is a
// local disk this process holds: it has no probe and is always available while open.
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';

export interface StoreAvailabilityOptions {
  /** Time between probes. @default 2000 */
  intervalMs?: number;
  /** A probe that takes longer counts as a miss. @default 2000 */
  timeoutMs?: number;
  /** Misses in a row before the store counts as unavailable. @default 2 */
  missesToFail?: number;
}

export class StoreAvailability {
  #available = true;
  #misses = 0;
  readonly #stop = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(
    /** Resolves if the store answered a quorum read; rejects otherwise. */
    private readonly probe: (signal: AbortSignal) => Promise<void>,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly onChange: (available: boolean) => void,
    private readonly opts: StoreAvailabilityOptions = {},
  ) {}

  get available(): boolean {
    return this.#available;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
  }

  /** One probe and its verdict (the loop's step; tests drive it directly). */
  async check(): Promise<void> {
    const timeoutMs = this.opts.timeoutMs ?? 2_000;
    const attempt = new AbortController();
    const onStop = () => attempt.abort();
    this.#stop.signal.addEventListener('abort', onStop);
    let err: unknown;
    try {
      await Promise.race([
        this.probe(attempt.signal),
        this.clock.sleep(timeoutMs, attempt.signal).then(() => {
          throw new Error(`no answer within ${timeoutMs} ms`);
        }),
      ]);
    } catch (e) {
      err = e;
    } finally {
      attempt.abort(); // ends the losing sleep (or the probe)
      this.#stop.signal.removeEventListener('abort', onStop);
    }
    if (this.#stop.signal.aborted) return;
    if (err === undefined) {
      this.#misses = 0;
      this.#set(true);
      return;
    }
    this.#misses++;
    if (this.#misses >= (this.opts.missesToFail ?? 2)) this.#set(false, err);
  }

  async #run(): Promise<void> {
    while (!this.#stop.signal.aborted) {
      await this.clock.sleep(this.opts.intervalMs ?? 2_000, this.#stop.signal).catch(() => {});
      if (this.#stop.signal.aborted) return;
      await this.check();
    }
  }

  #set(available: boolean, err?: unknown): void {
    if (available === this.#available) return;
    this.#available = available;
    if (available) this.log.info('store.available', {});
    else
      this.log.error('store.unavailable', {
        misses: this.#misses,
        err: String((err as Error)?.message ?? err).slice(0, 160),
        hint: "no quorum read succeeded: check that a majority of etcd members is up and reachable ('etcdctl endpoint health'); health says NOT_SERVING until it is",
      });
    this.onChange(available);
  }
}
