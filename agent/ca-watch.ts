// Keeps a WatchTrustBundle stream open to the CA and hands every event to the agent: new bundles (root
// rotation), renewal requests, and the removed-node list. Reconnects with jittered backoff when it breaks.
import type * as grpc from '@grpc/grpc-js';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import type { WatchTrustBundleEvent__Output } from '../proto/load.js';
import type { CaClient } from './ca-client.js';
import { backoffDelayMs } from './renewal-schedule.js';

export class CaWatch {
  readonly #stop = new AbortController();
  #loop: Promise<void> | undefined;
  #call: grpc.ClientReadableStream<WatchTrustBundleEvent__Output> | undefined;
  connected = false;

  constructor(
    private readonly deps: {
      client: () => CaClient;
      knownVersion: () => number;
      onEvent: (e: WatchTrustBundleEvent__Output) => Promise<void>;
      clock: Clock;
      log: Logger;
    },
  ) {}

  start(): void {
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    this.#call?.cancel();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const { clock, log } = this.deps;
    const stop = this.#stop.signal;
    let failures = 0;
    while (!stop.aborted) {
      const delivered = await this.#once();
      if (stop.aborted) return;
      failures = delivered ? 1 : failures + 1;
      const delay = backoffDelayMs(failures, Math.random, { baseMs: 500, capMs: 15_000 });
      log.debug('ca_watch.reconnect', { inMs: delay });
      await clock.sleep(delay, stop).catch(() => {});
    }
  }

  #once(): Promise<boolean> {
    return new Promise((resolve) => {
      let delivered = false;
      const call = this.deps.client().raw.WatchTrustBundle({ known_version: String(this.deps.knownVersion()) });
      this.#call = call;
      let queue = Promise.resolve();
      call.on('data', (event: WatchTrustBundleEvent__Output) => {
        delivered = true;
        this.connected = true;
        // Events are applied one at a time, in order.
        queue = queue.then(() => this.deps.onEvent(event)).catch((err: unknown) => this.deps.log.error('ca_watch.event_failed', { err }));
      });
      const done = (err?: grpc.ServiceError) => {
        this.connected = false;
        if (err && !this.#stop.signal.aborted) this.deps.log.warn('ca_watch.broken', { code: err.code, details: err.details });
        queue.finally(() => resolve(delivered));
      };
      call.on('error', done);
      call.on('end', () => done());
    });
  }
}
