// `ca audit verify` and `ca audit show`: read <state-dir>/audit.log as a file (no running CA needed), check the
// hash chain line by line, and print entries. The first line that breaks the chain is named with its number
// and the reason; nothing after it is trusted.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { HitlessError } from '../shared/errors.js';
import { auditPath, GENESIS_HASH, parseEntry, type AuditEntry } from './audit.js';

export type VerifyResult =
  | { ok: true; lines: number; head: string }
  | { ok: false; lines: number; line: number; reason: string };

/** Reads the log line by line (any size) and hands every entry to `each` once it has been checked. */
export async function verifyAudit(stateDir: string, each: (e: AuditEntry) => void = () => {}): Promise<VerifyResult> {
  const path = auditPath(stateDir);
  const input = createReadStream(path, { encoding: 'utf8' });
  const opened = new Promise<void>((resolve, reject) => {
    input.once('open', () => resolve());
    input.once('error', (cause: NodeJS.ErrnoException) =>
      reject(
        cause.code === 'ENOENT'
          ? new HitlessError('NOT_FOUND', `no audit log at ${path}`, { cause, hint: 'ca serve creates it with its first entry; check --state-dir' })
          : cause,
      ),
    );
  });
  await opened;
  let n = 0;
  let prev = GENESIS_HASH;
  let endsWithNewline = true;
  input.on('data', (chunk: string | Buffer) => (endsWithNewline = chunk.length === 0 ? endsWithNewline : String(chunk).endsWith('\n')));
  const lines = createInterface({ input, crlfDelay: Infinity });
  let bad: { line: number; reason: string } | undefined;
  for await (const text of lines) {
    n++;
    let e: AuditEntry;
    try {
      e = parseEntry(text);
    } catch (err) {
      bad = { line: n, reason: (err as Error).message };
      break;
    }
    if (e.seq !== n) {
      bad = { line: n, reason: `its sequence number is ${e.seq}, expected ${n} (a line before it was removed, or lines were reordered)` };
      break;
    }
    if (e.prev !== prev) {
      bad = { line: n, reason: `its prev hash does not match line ${n - 1} (a line was removed, reordered or rewritten)` };
      break;
    }
    prev = e.hash;
    each(e);
  }
  input.destroy();
  if (bad) return { ok: false, lines: n, ...bad };
  if (n > 0 && !endsWithNewline) return { ok: false, lines: n, line: n, reason: 'the last line is incomplete' };
  return { ok: true, lines: n, head: prev };
}

export function formatAuditEntry(e: AuditEntry): string {
  const who =
    e.actor.kind === 'local' ? `local(uid ${e.actor.socketUid})` : e.actor.kind === 'operator' ? `operator ${e.actor.name}` : e.actor.kind === 'node' ? `node ${e.actor.nodeId}` : 'ca';
  const details = Object.entries(e.details)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${String(e.seq).padStart(6)}  ${e.time}  ${e.event.padEnd(26)} ${who.padEnd(18)} ${details}`.trimEnd();
}
