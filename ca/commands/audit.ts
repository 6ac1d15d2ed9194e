// `ca audit verify` and `ca audit show`: read the audit log as a file, so they work with or without a
// running CA (and on a copy of the log elsewhere, with --state-dir pointing at its directory).
import { HitlessError } from '../../shared/errors.js';
import { parseDuration } from '../../shared/duration.js';
import { verifyAudit, formatAuditEntry } from '../audit-verify.js';
import type { AuditEntry } from '../audit.js';

/** Prints the verdict; throws AUDIT-style failure (exit 1) naming the first bad line. */
export async function auditVerify(o: { stateDir: string; json?: boolean }, out: (s: string) => void): Promise<void> {
  const r = await verifyAudit(o.stateDir);
  if (o.json) out(JSON.stringify(r, null, 2) + '\n');
  if (!r.ok) {
    throw new HitlessError('CA_NOT_READY', `audit log broken at line ${r.line}: ${r.reason}`, {
      hint: `lines 1..${r.line - 1} verify; keep a copy of the file as evidence and compare it with a copy shipped off this host`,
    });
  }
  if (!o.json) out(`audit log OK: ${r.lines} entries, head ${r.head}\n`);
}

/** `--since`: an ISO time (2026-12-02T10:00:00Z) or a duration back from now (90m). */
export function parseSince(text: string, now: Date): Date {
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const t = Date.parse(text);
    if (!Number.isNaN(t)) return new Date(t);
  }
  try {
    return new Date(now.getTime() - parseDuration(text, '--since'));
  } catch {
    throw new HitlessError('INVALID_ARGUMENT', `--since takes an ISO time or a duration, got "${text.slice(0, 40)}"`, { hint: 'e.g. --since 2026-12-02T10:00:00Z or --since 1h' });
  }
}

/** Prints entries (at or after `since`) as they verify; a broken chain stops the listing and fails. */
export async function auditShow(o: { stateDir: string; since?: Date; json?: boolean }, out: (s: string) => void): Promise<void> {
  const show = (e: AuditEntry) => {
    if (o.since && Date.parse(e.time) < o.since.getTime()) return;
    out(o.json ? JSON.stringify(e) + '\n' : formatAuditEntry(e) + '\n');
  };
  const r = await verifyAudit(o.stateDir, show);
  if (!r.ok) {
    throw new HitlessError('CA_NOT_READY', `audit log broken at line ${r.line}: ${r.reason}; entries from there on are not shown`, {
      hint: "run 'ca audit verify' for details",
    });
  }
}
