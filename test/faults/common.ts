// Pieces the fault scenarios share: a seeded PRNG, event-style waiting with a deadline, and a read of the
// CA's store while no CA runs (the test process opens it itself: the strongest "is it on record" check).
import { join } from 'node:path';
import { isRetryable } from '../../shared/grpc/status.js';
import { LevelStore, type CertRecord, type NodeRecord } from '../../ca/store.js';
export { Prng } from '../fuzz/prng.js';

export interface ScenarioContext {
  /** A fresh directory for this scenario's state. */
  dir: string;
  seed: number;
  /** Progress lines (the long run prints them; the short run keeps quiet). */
  log: (line: string) => void;
}

/** Resolves once `cond()` holds, re-checked whenever `poke` is called; rejects after `ms`. */
export class Signal {
  readonly #waiters = new Set<() => void>();

  poke(): void {
    for (const w of [...this.#waiters]) w();
  }

  until(cond: () => boolean, ms: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (cond()) finish(resolve);
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`))), ms);
      const finish = (fn: () => void) => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        fn();
      };
      this.#waiters.add(check);
      check();
    });
  }
}

/** What the stopped CA has on record: node records and a lookup of certificate records. */
export async function readCaRecords<T>(caStateDir: string, fn: (r: { nodes: NodeRecord[]; cert: (serial: string) => Promise<CertRecord | undefined> }) => Promise<T>): Promise<T> {
  const store = await LevelStore.open(join(caStateDir, 'store'), { mustExist: true });
  try {
    return await fn({ nodes: await store.listNodes(), cert: (s) => store.getCert(s) });
  } finally {
    await store.close();
  }
}

/** An error that an outage explains (unreachable, deadline); anything else is a refusal worth reporting. */
export const outageError = (err: unknown) => isRetryable(err);

export function errorCode(err: unknown): string {
  const e = err as { code?: unknown; details?: unknown; message?: unknown };
  return `${String(e?.code ?? 'error')}: ${String(e?.details ?? e?.message ?? err).slice(0, 160)}`;
}
