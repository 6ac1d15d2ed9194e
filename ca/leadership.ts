// Which replica runs what must run once: the root-rotation transitions (converge, finish) and pruning.
// Everything else — joins, renewals, watches, admin commands — runs on every replica.
//
// Embedded store: the one CA process is always the leader. etcd: an etcd election (etcd3's Election: a key
// per candidate under <prefix without its last slash>.election/ — e.g. /hitless.election/ —, attached to a lease the candidate keeps alive; the oldest key leads).
// A replica that dies stops keeping its lease alive; etcd deletes its key after the lease TTL and the next
// candidate leads. A leader cut off from etcd learns it from its lease keep-alive failing and steps down;
// until then it may still believe it leads, but every leader-only step is a compare-and-set on the rotation
// record or a delete of already-expired records, so a stale leader's write is refused or harmless, never a
// second truth.
import { hostname } from 'node:os';
import type { Campaign, Etcd3 } from 'etcd3';
import type { Logger } from '../shared/log.js';
import { metrics } from '../shared/metrics.js';

export interface Leadership {
  isLeader(): boolean;
  /** This replica's name in the election (hostname:port, pid). */
  readonly id: string;
  stop(): Promise<void>;
}

export const soleLeader: Leadership = { isLeader: () => true, id: 'sole', stop: async () => {} };

export interface ElectionOptions {
  /** Lease TTL in seconds: how long a dead leader keeps the role. @default 10 */
  ttlS?: number;
  /** Delay before a replica whose campaign failed (etcd unreachable, lease lost) stands again. @default 1000 */
  retryMs?: number;
}

export class EtcdLeadership implements Leadership {
  #leader = false;
  #campaign: Campaign | undefined;
  #stopped = false;
  #retry: NodeJS.Timeout | undefined;
  readonly id: string;

  constructor(
    private readonly client: Etcd3,
    private readonly prefix: string,
    port: number,
    private readonly log: Logger,
    private readonly opts: ElectionOptions = {},
  ) {
    this.id = `${hostname()}:${port}/${process.pid}`;
  }

  isLeader(): boolean {
    return this.#leader;
  }

  start(): void {
    this.#stand();
  }

  #stand(): void {
    if (this.#stopped) return;
    // Beside the records' prefix, not under it: the store reads and watches every key under its prefix as a record.
    const election = this.client.namespace(this.prefix.slice(0, -1) + '.election/').election('leader', this.opts.ttlS ?? 10);
    const campaign = election.campaign(this.id);
    this.#campaign = campaign;
    campaign.on('elected', () => {
      if (this.#campaign !== campaign || this.#stopped) return;
      this.#set(true);
    });
    campaign.on('error', (err: Error) => {
      if (this.#campaign !== campaign || this.#stopped) return;
      this.log.warn('ca.leader_campaign_failed', { replica: this.id, err: String(err?.message ?? err).slice(0, 200) });
      this.#set(false);
      this.#campaign = undefined;
      void campaign.resign().catch(() => {});
      this.#retry = setTimeout(() => this.#stand(), this.opts.retryMs ?? 1_000);
      this.#retry.unref();
    });
  }

  #set(leader: boolean): void {
    if (leader === this.#leader) return;
    this.#leader = leader;
    metrics.caLeader.inc(leader ? 1 : -1);
    this.log.info(leader ? 'ca.leader_elected' : 'ca.leader_lost', { replica: this.id });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retry);
    this.#set(false);
    // Resigning deletes our key now, so the next replica leads without waiting for the lease to expire.
    await this.#campaign?.resign().catch(() => {});
  }
}
