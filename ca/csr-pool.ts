// CSR checks on worker threads. Checking a CSR (strict DER walk, signature verify, key import) is about half of
// what issuing a certificate costs, and it is a pure function of the CSR bytes: it can run on other cores
// without sharing any CA state. No key, no store and no trust ever reach a worker; signing stays on the main
// thread with the current signer, so root rotation and signer changes need no coordination with the pool.
//
// One queue feeds every worker (a few requests in flight each, so none idles while a reply is in transit) and
// the main thread too, one CSR per event-loop turn so I/O keeps interleaving: under a burst every core works,
// and before the workers have started (start-up never waits for them) the main thread does it all. `ca serve`
// starts them only after it is listening, once checks queue up behind the main thread or a few seconds have
// passed: each is a Node isolate that boots and loads modules (~0.1 s of CPU), which would otherwise compete
// with the CA's own start (module loading, the root key's unseal) and its first renewals after a restart.
import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../shared/ts-worker.js';
import { availableParallelism } from 'node:os';
import { MAX_CSR_BYTES, validateCsr } from '../shared/pki/csr.js';
import { HitlessError, type ErrorCode } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';

export interface CsrChecker {
  /** The CSR's canonical SubjectPublicKeyInfo; throws INVALID_CSR exactly as validateCsr does. */
  check(der: Uint8Array): Promise<Uint8Array>;
  close(): Promise<void>;
  readonly stats: { inline: number; offloaded: number };
}

/** Everything on the calling thread: unit tests, and machines with one core. */
export function inlineCsrChecker(): CsrChecker {
  const stats = { inline: 0, offloaded: 0 };
  return {
    stats,
    async check(der) {
      stats.inline++;
      return (await validateCsr(der)).spkiDer;
    },
    async close() {},
  };
}

/** Requests in flight per worker. */
const PER_WORKER = 4;

interface Job {
  der: Uint8Array;
  resolve: (spki: Uint8Array) => void;
  reject: (err: unknown) => void;
}

// The worker module beside this one, in whichever form (TypeScript sources or compiled) this one runs.
const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './csr-worker.ts' : './csr-worker.js', import.meta.url);

interface Slot {
  worker: Worker;
  ready: boolean;
  onReady: Promise<void>;
  pending: Map<number, Job>;
}

type Reply = { ready: true } | { id: number; spkiDer: Uint8Array } | { id: number; error: { code?: ErrorCode; message: string } };

export class CsrWorkerPool implements CsrChecker {
  readonly stats = { inline: 0, offloaded: 0 };
  readonly #slots: Slot[] = [];
  readonly #queue: Job[] = [];
  #mainScheduled = false;
  #next = 1;
  #closed = false;

  #started = false;
  /** Start the threads once this many checks wait (startOnBacklog); undefined: not armed. */
  #startAtBacklog: number | undefined;

  /** Spawns nothing yet: `start()` does. */
  constructor(
    private readonly log: Logger,
    private readonly size = Math.max(0, availableParallelism() - 1),
  ) {}

  /** Spawns the worker threads (once; not after close). Checks queue on the main thread meanwhile. */
  start(): this {
    if (this.#started || this.#closed) return this;
    this.#started = true;
    for (let i = 0; i < this.size; i++) this.#spawn(i);
    return this;
  }

  #spawn(i: number): void {
    const worker = startModuleWorker(WORKER_URL);
    let markReady!: () => void;
    const slot: Slot = { worker, ready: false, onReady: new Promise((r) => (markReady = r)), pending: new Map() };
    this.#slots[i] = slot;
    worker.unref(); // never what keeps the CA process alive
    worker.on('message', (m: Reply) => {
      if ('ready' in m) {
        slot.ready = true;
        markReady();
        this.#pump();
        return;
      }
      const p = slot.pending.get(m.id);
      if (!p) return;
      slot.pending.delete(m.id);
      if ('spkiDer' in m) p.resolve(new Uint8Array(m.spkiDer));
      else p.reject(m.error.code ? new HitlessError(m.error.code, m.error.message) : new Error(m.error.message));
      this.#pump();
    });
    // A dead worker fails only its own in-flight checks (callers see INTERNAL with a reference) and is replaced.
    const fail = (err: unknown) => {
      slot.ready = false;
      for (const p of slot.pending.values()) p.reject(err);
      slot.pending.clear();
      if (!this.#closed) {
        this.log.error('csr_pool.worker_failed', { worker: i, err });
        this.#spawn(i);
      }
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (!this.#closed) fail(new Error(`CSR worker exited with code ${code}`));
    });
  }

  /** Starts the threads as soon as `backlog` checks wait behind the one the main thread is doing. */
  startOnBacklog(backlog = PER_WORKER): void {
    this.#startAtBacklog = backlog;
    this.#pump();
  }

  /** Resolves once every worker started by `start()` is up (tests; the CA itself never waits for it). */
  async whenReady(): Promise<void> {
    await Promise.all(this.#slots.map((s) => s.onReady));
  }

  /** For tests of the failure path: the worker threads. */
  get workers(): readonly Worker[] {
    return this.#slots.map((s) => s.worker);
  }

  check(der: Uint8Array): Promise<Uint8Array> {
    // Oversized input is refused here, without copying it to a thread.
    if (der.byteLength > MAX_CSR_BYTES) return validateCsr(der).then((r) => r.spkiDer);
    return new Promise((resolve, reject) => {
      this.#queue.push({ der, resolve, reject });
      this.#pump();
    });
  }

  #pump(): void {
    if (!this.#started && this.#startAtBacklog !== undefined && this.#queue.length >= this.#startAtBacklog) this.start();
    for (const slot of this.#slots) {
      while (slot.ready && slot.pending.size < PER_WORKER && this.#queue.length) {
        const job = this.#queue.shift()!;
        const id = this.#next++;
        slot.pending.set(id, job);
        this.stats.offloaded++;
        slot.worker.postMessage({ id, der: job.der });
      }
    }
    if (this.#queue.length && !this.#mainScheduled) {
      this.#mainScheduled = true;
      setImmediate(this.#mainStep);
    }
  }

  /** The main thread's share: one CSR per event-loop turn. */
  readonly #mainStep = (): void => {
    this.#mainScheduled = false;
    const job = this.#queue.shift();
    if (job) {
      this.stats.inline++;
      validateCsr(job.der).then((r) => job.resolve(r.spkiDer), job.reject);
    }
    this.#pump();
  };

  async close(): Promise<void> {
    this.#closed = true;
    for (const job of this.#queue.splice(0)) job.reject(new HitlessError('UNAVAILABLE', 'the CA is stopping'));
    await Promise.all(this.#slots.map((s) => s.worker.terminate()));
  }
}
