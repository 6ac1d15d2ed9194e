// `ca rotate-root`: a thin client of the running CA's admin socket. Starts a rotation and (by default) waits
// for it with progress bars, like `docker swarm ca --rotate`; --status, --abort and --force work at any phase.
import { readFile } from 'node:fs/promises';
import type { CaAdminServiceClient } from '../../proto/load.js';
import type { RootRotationStatus__Output } from '../../proto/generated/hitless/v1/RootRotationStatus.js';
import { HitlessError } from '../../shared/errors.js';
import { call } from '../admin-client.js';

export interface RotateOptions {
  status?: boolean;
  abort?: boolean;
  force?: boolean | string[];
  detach?: boolean;
  cert?: string;
  key?: string;
  rootSubject?: string;
  json?: boolean;
  pollMs?: number;
  out?: (s: string) => void;
}

type Status = RootRotationStatus__Output;

function bar(done: number, total: number, width = 24): string {
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`;
}

export function formatRotationStatus(s: Status): string {
  const lines: string[] = [];
  if (s.phase === 'idle') {
    lines.push(`no root rotation in progress; current root sha256:${s.current_root_fingerprint}`);
    if (s.last_finished_at) lines.push(`last rotation ended ${s.last_finished_at}`);
    return lines.join('\n') + '\n';
  }
  lines.push(
    `root rotation ${s.rotation_id}: ${s.phase} since ${s.started_at}`,
    `  from sha256:${s.from_root_fingerprint}`,
    `  to   sha256:${s.to_root_fingerprint}`,
    `  nodes re-issued   ${bar(s.nodes_reissued, s.nodes_total)}`,
    `  bundles updated   ${bar(s.bundles_acknowledged, s.nodes_total)}`,
  );
  if (s.converged_at) {
    lines.push(
      s.waiting_for.length
        ? `  all nodes converged at ${s.converged_at}; finishing once every live node reports no live connection or stream on the old root (at the latest ${s.finishes_at})`
        : `  all nodes converged at ${s.converged_at}; every live node reported no live connection or stream on the old root: finishing`,
    );
    for (const w of s.waiting_for) {
      const why =
        w.reason === 'old-root-in-use'
          ? "reports a live connection or stream still involving a certificate of the old root ('agent status' on it: live roots)"
          : 'has not reported its live connections at this bundle version (an older agent, or its reports fail: evidence.* in its log)';
      lines.push(`    waiting for ${w.node_id}: ${why}; ${w.connected ? 'connected' : 'NOT CONNECTED'}`);
    }
  }
  if (s.blocking.length) {
    lines.push(`  ${s.blocking.length} node(s) block completion:`);
    for (const b of s.blocking) {
      const why = b.reason === 'old-certificate' ? 'still holds a certificate of the old root' : 'has not acknowledged the new trust bundle';
      lines.push(`    ${b.node_id}  ${why}; ${b.connected ? 'connected' : 'NOT CONNECTED (down?)'}; last seen ${b.last_seen}`);
    }
    lines.push("  hint: down nodes can be left behind with 'ca rotate-root --force' (they re-join, or renew once back: see README)");
  }
  if (s.excluded.length) lines.push(`  excluded (--force): ${s.excluded.join(', ')}`);
  return lines.join('\n') + '\n';
}

function finished(s: Status): string {
  return [
    `Root rotation finished: the cluster now trusts only sha256:${s.current_root_fingerprint}.`,
    'Join tokens now carry the new root digest; the previous tokens STOPPED WORKING:',
    `  worker   ${s.worker_token}`,
    `  manager  ${s.manager_token}`,
  ].join('\n') + '\n';
}

export async function rotateRoot(client: CaAdminServiceClient, o: RotateOptions): Promise<Status> {
  const out = o.out ?? ((s: string) => process.stdout.write(s));
  const print = (s: Status) => out(o.json ? JSON.stringify(s, null, 2) + '\n' : formatRotationStatus(s));
  if (o.status) {
    const s = await call<Status>((opts, cb) => client.GetRootRotationStatus({}, opts, cb));
    print(s);
    return s;
  }
  if (o.abort) {
    const s = await call<Status>((opts, cb) => client.AbortRootRotation({}, opts, cb));
    if (o.detach || o.json) {
      print(s);
      return s;
    }
    out('aborting: moving the fleet back to the current root\n');
    return wait(client, s, o, out);
  }
  if (o.force) {
    const ids = Array.isArray(o.force) ? o.force : [];
    const s = await call<Status>((opts, cb) => client.ForceRootRotation({ node_ids: ids }, opts, cb));
    if (o.detach || o.json) {
      print(s);
      return s;
    }
    // Like the start and --abort: wait (with progress) until the rotation is done, so that the new join
    // tokens are printed and the operator knows when the old root stopped being trusted.
    out(`leaving ${s.excluded.length} node(s) behind: ${s.excluded.join(', ')}\n`);
    return wait(client, s, o, out);
  }
  if ((o.cert && !o.key) || (o.key && !o.cert)) {
    throw new HitlessError('INVALID_ARGUMENT', '--cert and --key go together', { hint: 'pass both, or neither to have a root generated' });
  }
  const req = {
    root_cert_pem: o.cert ? await readFile(o.cert, 'utf8') : '',
    root_key_pem: o.key ? await readFile(o.key, 'utf8') : '',
    root_subject: o.rootSubject ?? '',
  };
  const started = await call<Status>((opts, cb) => client.StartRootRotation(req, opts, cb));
  if (o.detach) {
    print(started);
    return started;
  }
  out(`root rotation ${started.rotation_id} started (Ctrl-C stops watching, not the rotation)\n`);
  return wait(client, started, o, out);
}

async function wait(client: CaAdminServiceClient, first: Status, o: RotateOptions, out: (s: string) => void): Promise<Status> {
  const tty = process.stdout.isTTY && !o.out;
  let last = '';
  let s = first;
  for (;;) {
    const text = formatRotationStatus(s);
    if (text !== last) {
      if (tty && last) out(`\x1b[${last.split('\n').length - 1}A\x1b[J`);
      out(text);
      last = text;
    }
    if (s.phase === 'idle') break;
    await new Promise((r) => setTimeout(r, o.pollMs ?? 500));
    s = await call<Status>((opts, cb) => client.GetRootRotationStatus({}, opts, cb));
  }
  out(first.phase === 'aborting' || s.current_root_fingerprint === first.from_root_fingerprint ? 'Rotation aborted; the cluster trusts only its original root again.\n' : finished(s));
  return s;
}
