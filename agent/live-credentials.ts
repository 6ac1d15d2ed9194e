// Rotation evidence, the agent's half: which certificates authenticate this node's live connections and
// streams — ours and the peer's, as client and as server — and which roots issued them. The agent reports the
// set of issuing roots to the CA (ReportLiveCredentials) whenever it changes; the CA finishes a root rotation
// once every live node's report, at the rotation's bundle version, no longer names the old root
// (ca/root-rotation.ts evidenceWait). That is the evidence that replaces the 1.5 × connection-age guess.
//
// What is tracked, and how each side's certificate is known (no guessing from timers):
//  - client legs (peer heartbeat streams, the CA watch: RefreshingStream.liveLegs()): our leaf when the leg's
//    channel was made (a new connection takes the provider's latest values), the server's from the handshake;
//  - the peer probe channels (PeerLink): our leaf when the channel was made (it is remade on every change of
//    ours), the server's as the latest probe saw it;
//  - every connection to our node port (ConnectionGuard.connections()): the client's certificate from the
//    handshake, ours as it was when the connection was accepted (conservative: a handshake that completed
//    after a renewal used the new one, and then we report the older root a little longer than needed).
// Short unary connections (renewals, these reports) are closed when their call ends and are not tracked.
//
// Bounded: roots remembered (MAX_KNOWN_ROOTS), own certificates remembered (MAX_OWN), the fingerprint cache
// (MAX_CACHE); the number of live uses is bounded by the node port's connection limit and the peer count.
import { createHash } from 'node:crypto';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import { issuingRoot } from '../shared/pki/chain.js';
import { pemToDer } from '../shared/pki/pem.js';
import { HitlessError } from '../shared/errors.js';

/** Roots whose certificates we can still name: the bundles we held, newest first. */
export const MAX_KNOWN_ROOTS = 16;
/** Our own recent certificates, to name the one a server connection was accepted with. */
export const MAX_OWN = 8;
const MAX_CACHE = 512;
/** The CA takes at most 16 fingerprints per report (ca/live-evidence.ts MAX_ROOTS). */
export const MAX_REPORTED_ROOTS = 16;

export interface LiveUse {
  /** For status and logs: "peer 127.0.0.1:7001 heartbeat", "ca watch", "node port connection". */
  what: string;
  side: 'client' | 'server';
  /** Our certificate on it (PEM or DER), when known. */
  own?: string | Uint8Array;
  /** The other end's certificate (DER or PEM), when known yet. */
  peer?: string | Uint8Array;
}

export interface LiveCredentialsView {
  /** Fingerprints of the roots that issued a certificate on a live connection or stream (sorted). */
  roots: string[];
  /** Live connections and streams looked at. */
  uses: number;
  /** Certificates whose issuing root we cannot name (never reported as clean: see report()). */
  unknown: number;
  /** Per issuing root, what uses it (a few examples each, for status). */
  byRoot: Record<string, string[]>;
}

export class LiveCredentials {
  #roots: string[] = [];
  #own: { since: number; pem: string }[] = [];
  readonly #sources: (() => LiveUse[])[] = [];
  readonly #cache = new Map<string, string | null>();

  /** A trust bundle we hold (or held): its roots stay nameable. */
  noteRoots(rootsPem: readonly string[]): void {
    this.#roots = [...new Set([...rootsPem, ...this.#roots])].slice(0, MAX_KNOWN_ROOTS);
    // A root learnt later may name a certificate we could not name before.
    for (const [k, v] of this.#cache) if (v === null) this.#cache.delete(k);
  }

  /** Our certificate in use from `since` (clock ms) on: record it *before* publishing it to the provider. */
  noteOwn(leafPem: string, since: number): void {
    if (this.#own.at(-1)?.pem === leafPem) return;
    this.#own.push({ since, pem: leafPem });
    if (this.#own.length > MAX_OWN) this.#own.shift();
  }

  /** Our certificate as it was at `at` (clock ms): the one a connection accepted then was served with. */
  ownAt(at: number): string | undefined {
    let found: string | undefined;
    for (const o of this.#own) if (o.since <= at) found = o.pem;
    return found ?? this.#own[0]?.pem;
  }

  addSource(source: () => LiveUse[]): void {
    this.#sources.push(source);
  }

  /** The issuing root of `cert` among the roots we know, or null when none of them signed it. */
  rootOf(cert: string | Uint8Array): string | null {
    const der = typeof cert === 'string' ? pemToDer(cert) : cert;
    const key = createHash('sha256').update(der).digest('hex');
    let root = this.#cache.get(key);
    if (root === undefined) {
      root = issuingRoot(der, this.#roots) ?? null;
      if (this.#cache.size >= MAX_CACHE) this.#cache.delete(this.#cache.keys().next().value!);
      this.#cache.set(key, root);
    }
    return root;
  }

  view(): LiveCredentialsView {
    const byRoot: Record<string, string[]> = {};
    let unknown = 0;
    let uses = 0;
    for (const source of this.#sources) {
      for (const use of source()) {
        uses++;
        for (const [end, cert] of [['own', use.own], ['peer', use.peer]] as const) {
          if (!cert) continue;
          const root = this.rootOf(cert);
          if (root === null) {
            unknown++;
            continue;
          }
          const list = (byRoot[root] ??= []);
          if (list.length < 4) list.push(`${use.what} (${use.side}, ${end})`);
        }
      }
    }
    return { roots: Object.keys(byRoot).sort(), uses, unknown, byRoot };
  }
}

export interface EvidenceReport {
  bundleVersion: number;
  roots: string[];
}

export interface ReporterDeps {
  live: LiveCredentials;
  clock: Clock;
  log: Logger;
  bundleVersion(): number;
  /**
   * Changes whenever the CA may have lost what we told it (a watch re-established after a failure: the CA keeps
   * evidence in memory, so a restarted CA knows nothing until we report again); undefined while no watch is up.
   */
  caSession(): number | undefined;
  send(report: EvidenceReport): Promise<void>;
  /**
   * How often the evidence is looked at (a few certificates per connection, their roots cached: cheap), so a
   * connection that closes is reflected within this. @default 250
   */
  intervalMs?: number;
  /** Reports are sent at most this often, however fast the evidence changes. @default 500 */
  minSendIntervalMs?: number;
}

/**
 * Sends the evidence when it changes (bundle version, issuing roots, CA session), never more than once per
 * minSendIntervalMs; failures are retried with backoff up to 30 s. A report naming a certificate we cannot attribute
 * is held back: the CA must never read an incomplete picture as "clean".
 */
export class EvidenceReporter {
  readonly #stop = new AbortController();
  #wake: AbortController | undefined;
  #loop: Promise<void> | undefined;
  #sentKey: string | undefined;
  #failures = 0;
  reportsSent = 0;
  reportFailures = 0;
  lastReport: (EvidenceReport & { at: string }) | undefined;
  lastError: string | undefined;

  constructor(private readonly d: ReporterDeps) {}

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Something changed (credentials, a stream moved): look now instead of at the next interval. */
  poke(): void {
    this.#wake?.abort();
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    this.#wake?.abort();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const { clock, log } = this.d;
    const interval = this.d.intervalMs ?? 250;
    const minSend = this.d.minSendIntervalMs ?? 500;
    let heldBack = false;
    let lastSend = -Infinity;
    while (!this.#stop.signal.aborted) {
      const session = this.d.caSession();
      const view = this.d.live.view();
      const report: EvidenceReport = { bundleVersion: this.d.bundleVersion(), roots: view.roots.slice(0, MAX_REPORTED_ROOTS) };
      const key = `${session}|${report.bundleVersion}|${report.roots.join(',')}`;
      if (view.unknown > 0) {
        if (!heldBack) log.warn('evidence.held_back', { unknownCertificates: view.unknown, hint: 'a live connection carries a certificate of a root this node does not know; the CA waits for its timer' });
        heldBack = true;
      } else if (session !== undefined && key !== this.#sentKey && clock.now().getTime() - lastSend >= minSend) {
        heldBack = false;
        lastSend = clock.now().getTime();
        try {
          await this.d.send(report);
          this.#sentKey = key;
          this.#failures = 0;
          this.reportsSent++;
          this.lastReport = { ...report, at: clock.now().toISOString() };
          log.info('evidence.reported', { bundleVersion: report.bundleVersion, roots: report.roots, uses: view.uses });
        } catch (err) {
          if (this.#stop.signal.aborted) return;
          this.#failures++;
          this.reportFailures++;
          this.lastError = err instanceof HitlessError ? `${err.code}: ${err.message}` : (err as Error).message;
          log.warn('evidence.report_failed', { attempt: this.#failures, err });
        }
      }
      const wait = this.#failures ? Math.min(30_000, minSend * 2 ** this.#failures) : interval;
      this.#wake = new AbortController();
      await clock.sleep(wait, AbortSignal.any([this.#stop.signal, this.#wake.signal])).catch(() => {});
      // A burst of pokes (a renewal moves every stream) is looked at once, a moment later.
      if (!this.#stop.signal.aborted && this.#wake.signal.aborted) await clock.sleep(100, this.#stop.signal).catch(() => {});
    }
  }
}
