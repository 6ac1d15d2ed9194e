// Group commit, for the writers that must sync before their caller goes on (the level store, the audit log).
// One fsync costs far more than the write itself; so writes that arrive while a synced batch is in flight wait
// and go together in the next one. Each caller still resolves only once its own batch is durable, in arrival
// order, and one batch is written at a time.

/** One queued write: its item, and its caller's promise (the batch writer may settle it early, e.g. a conflict). */
export interface Queued<T> {
  item: T;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class GroupCommit<T> {
  #queue: Queued<T>[] = [];
  /** Set and cleared synchronously (not by a promise callback): a write queued as a batch ends must not be missed. */
  #flushing = false;

  /**
   * `writeBatch` makes one batch durable. When it returns, every write of the batch resolves (those it
   * rejected itself stay rejected); when it throws, every write of the batch is rejected with its error.
   */
  constructor(private readonly writeBatch: (batch: Queued<T>[]) => Promise<void>) {}

  /** Queues `item` for the next batch; resolves once that batch is durable. */
  add(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      if (!this.#flushing) void this.#flush();
    });
  }

  /** Resolves once nothing is queued or being written (before closing the file or database). */
  async settled(): Promise<void> {
    while (this.#flushing) await new Promise((r) => setImmediate(r));
  }

  async #flush(): Promise<void> {
    this.#flushing = true;
    while (this.#queue.length) {
      const batch = this.#queue.splice(0);
      try {
        await this.writeBatch(batch);
        for (const q of batch) q.resolve();
      } catch (err) {
        for (const q of batch) q.reject(err);
      }
    }
    this.#flushing = false;
  }
}
