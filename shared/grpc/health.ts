// gRPC health (grpc.health.v1.Health, Check and Watch), from the ecosystem's own package (grpc-health-check).
// Server reflection is in ./reflection.ts (the CA serves it; the agent neither serves nor loads it). Health
// needs no client certificate: our TLS ports request one but do not require it (shared/grpc/peer.ts), and
// every hitless method still authorizes its caller itself.
//
// grpc-health-check keeps a status per service name and pushes changes to Watch streams, but never ends
// those streams: a server's graceful stop would then wait its whole grace for them. So the Watch handler is
// wrapped to track open streams (bounded: each one is held by an unauthenticated caller) and `stopping()`
// reports NOT_SERVING and then ends them.
import type * as grpc from '@grpc/grpc-js';
import { HealthImplementation, service as healthService } from 'grpc-health-check';
import type { Logger } from '../log.js';
import { limitExceeded } from '../metrics.js';
import { HitlessError } from '../errors.js';
import { failStream } from './handlers.js';

export type HealthState = 'SERVING' | 'NOT_SERVING';

/** Open Watch streams per server; beyond it a Watch gets RESOURCE_EXHAUSTED. */
export const MAX_HEALTH_WATCHES = 64;

type WatchCall = grpc.ServerWritableStream<{ service: string }, { status: string }>;

export class HealthReporter {
  readonly #impl: HealthImplementation;
  readonly #watches = new Set<WatchCall>();
  #state: HealthState = 'NOT_SERVING';

  /** `services`: the fully-qualified names this server answers for; '' (the whole server) is always added. */
  constructor(
    private readonly services: string[],
    private readonly log: Logger,
  ) {
    this.#impl = new HealthImplementation(Object.fromEntries(['', ...services].map((s) => [s, 'NOT_SERVING'])));
  }

  get state(): HealthState {
    return this.#state;
  }

  addTo(server: grpc.Server): void {
    this.#impl.addToServer({
      addService: (def, impl) => {
        const watch = impl.watch as grpc.handleServerStreamingCall<{ service: string }, { status: string }>;
        server.addService(def, {
          ...impl,
          watch: (call: WatchCall) => {
            if (this.#watches.size >= MAX_HEALTH_WATCHES) {
              limitExceeded(this.log, 'health_watch_streams', { max: MAX_HEALTH_WATCHES });
              failStream(this.log, 'Health/Watch', call, new HitlessError('RATE_LIMITED', `at most ${MAX_HEALTH_WATCHES} health Watch streams at once`, { hint: 'use Check, or close idle Watch streams' }));
              return;
            }
            this.#watches.add(call);
            const done = () => this.#watches.delete(call);
            call.on('cancelled', done);
            call.on('close', done);
            call.on('error', done);
            watch(call);
          },
        });
      },
    } as Pick<grpc.Server, 'addService'> as grpc.Server);
  }

  set(state: HealthState): void {
    if (state === this.#state) return;
    this.#state = state;
    for (const s of ['', ...this.services]) this.#impl.setStatus(s, state);
    this.log.info('health.changed', { state });
  }

  /** NOT_SERVING, then ends every Watch stream (after the NOT_SERVING message) so a graceful stop is not held up. */
  stopping(): void {
    this.set('NOT_SERVING');
    for (const call of this.#watches) if (!call.cancelled) call.end();
    this.#watches.clear();
  }
}

export { healthService };
