// The CA's audit log: <state-dir>/audit.log, one JSON line per admin action, join, token change and root
// rotation step. Tamper-evident by a hash chain: every line carries `prev` (the previous line's hash) and its
// own `hash` = sha256 of the line as written without that field, so an edited, removed or reordered line
// breaks the chain at a line `ca audit verify` names (ca/audit-verify.ts). Truncating the *tail* leaves a
// valid shorter chain: ship the log (or `ca audit verify`'s head hash) elsewhere to anchor it.
//
// Durable before acknowledged: `append()` resolves only once the line is fsynced, and callers await it before
// answering the request. Concurrent appends share one write + fsync (group commit, as in ca/store.ts), and
// the chain order is the order of `append()` calls.
import { open, stat, type FileHandle } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { sha256Hex } from '../shared/pki/certs.js';
import { HitlessError } from '../shared/errors.js';
import type { Clock } from '../shared/clock.js';
import { GroupCommit } from './group-commit.js';

export const AUDIT_FILE = 'audit.log';
export const GENESIS_HASH = '0'.repeat(64);
/** Longest line read back at open; entries are a few hundred bytes. */
const TAIL_BYTES = 64 * 1024;

/** Who did it: the CA host through the admin socket, a named operator credential, a node, or the CA itself. */
export type AuditActor =
  | { kind: 'local'; socketUid: number }
  | { kind: 'operator'; name: string }
  | { kind: 'node'; nodeId: string }
  | { kind: 'ca' };

export interface AuditEntry {
  seq: number;
  time: string;
  event: string;
  actor: AuditActor;
  details: Record<string, unknown>;
  prev: string;
  hash: string;
}

export interface AuditSink {
  append(event: string, actor: AuditActor, details?: Record<string, unknown>): Promise<void>;
}

/** For a CA without an audit log (unit tests of the Authority). */
export const noAudit: AuditSink = { append: async () => {} };

export const auditPath = (stateDir: string) => join(stateDir, AUDIT_FILE);

/** The exact line for an entry: the hash covers the JSON of every other field, in this order. */
export function formatEntry(e: Omit<AuditEntry, 'hash'>): string {
  const body = JSON.stringify({ seq: e.seq, time: e.time, event: e.event, actor: e.actor, details: e.details, prev: e.prev });
  return `${body.slice(0, -1)},"hash":"${sha256Hex(body)}"}`;
}

/** Parses one line and checks it against its own hash; throws a one-line reason when it does not hold. */
export function parseEntry(line: string): AuditEntry {
  let e: AuditEntry;
  try {
    e = JSON.parse(line) as AuditEntry;
  } catch {
    throw new Error('not a JSON line');
  }
  if (typeof e !== 'object' || e === null || typeof e.hash !== 'string' || !Number.isSafeInteger(e.seq)) throw new Error('not an audit entry');
  if (formatEntry(e) !== line) throw new Error('its content does not match its hash (edited)');
  return e;
}

export class AuditLog implements AuditSink {
  #seq: number;
  #head: string;
  /** Lines are synced in groups (ca/group-commit.ts): one fsync per batch of appends, not per append. */
  readonly #commits = new GroupCommit<string>((batch) => this.#writeBatch(batch.map((q) => q.item)));
  #broken: unknown;

  private constructor(
    private readonly fh: FileHandle,
    readonly path: string,
    private readonly clock: Clock,
    head: { seq: number; hash: string },
  ) {
    this.#seq = head.seq;
    this.#head = head.hash;
  }

  /**
   * Opens (or creates, mode 0600) the log and reads its last line to continue the chain. A last line that is
   * incomplete or does not match its own hash fails closed: appending after it would hide the damage.
   */
  static async open(stateDir: string, clock: Clock): Promise<AuditLog> {
    const path = auditPath(stateDir);
    const head = await readHead(path);
    const created = head.seq === 0 && !(await stat(path).catch(() => undefined));
    const fh = await open(path, 'a', 0o600);
    if (created) {
      // A new file's directory entry must be durable too, or a crash could lose the whole log.
      const dir = await open(dirname(path), 'r');
      await dir.sync().finally(() => dir.close());
    }
    return new AuditLog(fh, path, clock, head);
  }

  get head(): { seq: number; hash: string } {
    return { seq: this.#seq, hash: this.#head };
  }

  append(event: string, actor: AuditActor, details: Record<string, unknown> = {}): Promise<void> {
    if (this.#broken) return Promise.reject(failed(this.#broken));
    const entry = { seq: this.#seq + 1, time: this.clock.now().toISOString(), event, actor, details, prev: this.#head };
    const line = formatEntry(entry);
    this.#seq = entry.seq;
    this.#head = JSON.parse(line).hash as string;
    return this.#commits.add(line);
  }

  async #writeBatch(lines: string[]): Promise<void> {
    // The chain in memory ran ahead of the file: every later line would point at a line that is not there.
    // So after a failed write, refuse every later batch too (appends check it before queueing).
    if (this.#broken) throw failed(this.#broken);
    try {
      await this.fh.write(lines.map((l) => l + '\n').join(''));
      await this.fh.datasync();
    } catch (err) {
      this.#broken = err;
      throw failed(err);
    }
  }

  async close(): Promise<void> {
    await this.#commits.settled();
    await this.fh.close();
  }
}

/** One entry by the local user, outside a running CA (`ca init`). */
export async function appendOnce(stateDir: string, clock: Clock, event: string, details: Record<string, unknown>): Promise<void> {
  const log = await AuditLog.open(stateDir, clock);
  try {
    await log.append(event, localActor(), details);
  } finally {
    await log.close();
  }
}

/** The user of this process: on the admin socket, the socket's owner (see ca/admin-audit.ts). */
export const localActor = (): AuditActor => ({ kind: 'local', socketUid: process.getuid?.() ?? -1 });

function failed(cause: unknown): HitlessError {
  return new HitlessError('CA_NOT_READY', `cannot write the audit log: ${(cause as Error).message}`, {
    cause,
    hint: 'the action was not acknowledged; free disk space or fix permissions of <state-dir>/audit.log, then restart ca serve',
  });
}

async function readHead(path: string): Promise<{ seq: number; hash: string }> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { seq: 0, hash: GENESIS_HASH };
    throw err;
  }
  try {
    const { size } = await fh.stat();
    if (size === 0) return { seq: 0, hash: GENESIS_HASH };
    const length = Math.min(size, TAIL_BYTES);
    const buf = Buffer.alloc(length);
    await fh.read(buf, 0, length, size - length);
    const text = buf.toString('utf8');
    const damaged = (reason: string) =>
      new HitlessError('CA_NOT_READY', `the audit log ${path} is damaged: ${reason}`, {
        hint: "run 'ca audit verify' to see where; keep a copy of the file, then move it aside to start a new chain",
      });
    if (!text.endsWith('\n')) throw damaged('its last line is incomplete (a crash during a write?)');
    const last = text.slice(0, -1).split('\n').pop()!;
    try {
      const e = parseEntry(last);
      return { seq: e.seq, hash: e.hash };
    } catch (err) {
      throw damaged(`its last line: ${(err as Error).message}`);
    }
  } finally {
    await fh.close();
  }
}
