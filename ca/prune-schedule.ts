// When the CA prunes its store: expired certificate records, tombstones of removed nodes and expired join tokens
// must not pile up between restarts, on either backend. Every record stays in memory and in the start-time
// integrity check (ca/store-integrity.ts reads every record), so an unpruned store makes every restart slower
// and every replica bigger the longer the CA runs.
//
// One schedule for both backends: the first prune once a start has settled (a restart's rush of renewals comes
// first), then every `everyMs`, on the replica that leads (the embedded CA always leads). On etcd each prune is
// followed by a compaction to the revision seen one period earlier (`afterPrune`).
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';

export interface PruneScheduleOptions {
  clock: Clock;
  log: Logger;
  /** Delay before the first prune. */
  firstAfterMs: number;
  everyMs: number;
  isLeader: () => boolean;
  prune: () => Promise<void>;
  /** After each prune on the leader (etcd: compaction); `ledBefore` is false on the first period it leads. */
  afterPrune?: (ledBefore: boolean) => Promise<void>;
}

/** Starts the schedule; the returned function stops it and resolves once a prune under way has ended. */
export function startPruning(o: PruneScheduleOptions): () => Promise<void> {
  const stop = new AbortController();
  const loop = (async () => {
    let wait = o.firstAfterMs;
    let led = false;
    while (!stop.signal.aborted) {
      await o.clock.sleep(wait, stop.signal).catch(() => {});
      if (stop.signal.aborted) break;
      wait = o.everyMs;
      if (!o.isLeader()) {
        led = false;
        continue;
      }
      await o.prune().catch((err: unknown) => o.log.warn('store.prune_failed', { err: String((err as Error).message).slice(0, 200) }));
      await o.afterPrune?.(led).catch(() => {});
      led = true;
    }
  })();
  return async () => {
    stop.abort();
    await loop;
  };
}
