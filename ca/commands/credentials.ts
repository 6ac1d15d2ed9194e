// `ca join-token create|list|revoke` and `ca operator create|list|revoke`: thin clients of the running CA's
// admin socket. The operator's key is made here, on the CA host, and never crosses the socket: only a CSR does.
import { access, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { CaAdminServiceClient } from '../../proto/load.js';
import type { JoinTokenInfo__Output } from '../../proto/generated/hitless/v1/JoinTokenInfo.js';
import type { OperatorInfo__Output } from '../../proto/generated/hitless/v1/OperatorInfo.js';
import type { CreateJoinTokenResponse__Output } from '../../proto/generated/hitless/v1/CreateJoinTokenResponse.js';
import type { ListJoinTokensResponse__Output } from '../../proto/generated/hitless/v1/ListJoinTokensResponse.js';
import type { RevokeJoinTokenResponse__Output } from '../../proto/generated/hitless/v1/RevokeJoinTokenResponse.js';
import type { CreateOperatorResponse__Output } from '../../proto/generated/hitless/v1/CreateOperatorResponse.js';
import type { ListOperatorsResponse__Output } from '../../proto/generated/hitless/v1/ListOperatorsResponse.js';
import type { RevokeOperatorResponse__Output } from '../../proto/generated/hitless/v1/RevokeOperatorResponse.js';
import { HitlessError } from '../../shared/errors.js';
import { generateKeyPairPem } from '../../shared/pki/keys.js';
import { createCsrDer } from '../../shared/pki/csr.js';
import { joinPem } from '../../shared/pki/pem.js';
import { writeFileAtomic } from '../../shared/fs-atomic.js';
import { call, OPERATOR_FILES } from '../admin-client.js';

type Out = (s: string) => void;

function table(rows: string[][], out: Out): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) out(r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd() + '\n');
}

const roleName = (r: string) => r.replace('NODE_ROLE_', '').toLowerCase();

export function checkRole(role: string): 'NODE_ROLE_WORKER' | 'NODE_ROLE_MANAGER' {
  if (role === 'worker') return 'NODE_ROLE_WORKER';
  if (role === 'manager') return 'NODE_ROLE_MANAGER';
  throw new HitlessError('INVALID_ARGUMENT', `unknown role "${role.slice(0, 20)}"`, { hint: 'use worker or manager' });
}

/** How to hand a token to an agent without putting it in argv (and so in `ps`). */
export function agentInstructions(token: string): string {
  return (
    `    HITLESS_JOIN_TOKEN='${token}' \\\n      agent run --ca <ca-host:port> --state-dir <dir>\n\n` +
    `(or save it to a file readable only by the agent's user and pass --token-file <file>; --token-file - reads stdin)\n`
  );
}

export async function createJoinToken(
  client: CaAdminServiceClient,
  o: { role: string; ttlMs: number; uses: number; quiet?: boolean; json?: boolean },
  out: Out,
): Promise<void> {
  const role = checkRole(o.role);
  const res = await call<CreateJoinTokenResponse__Output>((opts, cb) =>
    client.CreateJoinToken({ role, ttl_seconds: Math.ceil(o.ttlMs / 1000), max_uses: o.uses }, opts, cb),
  );
  const info = res.info!;
  if (o.json) return out(JSON.stringify({ token: res.token, ...info, role: roleName(info.role) }, null, 2) + '\n');
  if (o.quiet) return out(res.token + '\n');
  out(
    `Created ${roleName(info.role)} join token ${info.id}: ${info.max_uses} use(s), expires ${info.expires_at}.\n` +
      `It is shown only now (the CA keeps a hash). To add a ${roleName(info.role)}:\n\n${agentInstructions(res.token)}`,
  );
}

export async function listJoinTokens(client: CaAdminServiceClient, o: { json?: boolean }, out: Out): Promise<void> {
  const res = await call<ListJoinTokensResponse__Output>((opts, cb) => client.ListJoinTokens({}, opts, cb));
  const tokens = res.tokens.map((t: JoinTokenInfo__Output) => ({ ...t, role: roleName(t.role) }));
  if (o.json) return out(JSON.stringify(tokens, null, 2) + '\n');
  const rows = [['ID', 'ROLE', 'STATE', 'USES LEFT', 'EXPIRES', 'CREATED']];
  for (const t of tokens) rows.push([t.id, t.role, t.state, `${t.uses_left}/${t.max_uses}`, t.expires_at, t.created_at]);
  table(rows, out);
}

export async function revokeJoinToken(client: CaAdminServiceClient, id: string, out: Out): Promise<void> {
  const res = await call<RevokeJoinTokenResponse__Output>((opts, cb) => client.RevokeJoinToken({ id }, opts, cb));
  out(`revoked join token ${res.info!.id} (${res.info!.uses_left} use(s) were left)\n`);
}

export { OPERATOR_FILES };

export async function createOperator(
  client: CaAdminServiceClient,
  o: { name: string; out: string; ttlMs?: number; json?: boolean },
  out: Out,
): Promise<void> {
  const keyFile = join(o.out, OPERATOR_FILES.key);
  if (await access(keyFile).then(() => true, () => false)) {
    throw new HitlessError('ALREADY_EXISTS', `${keyFile} exists: it holds another operator credential`, { hint: 'pick another --out directory, or delete the old files first' });
  }
  const { privateKeyPem } = generateKeyPairPem();
  const csr = Buffer.from(createCsrDer(privateKeyPem));
  const res = await call<CreateOperatorResponse__Output>((opts, cb) =>
    client.CreateOperator({ name: o.name, csr_der: csr, ttl_seconds: o.ttlMs ? Math.ceil(o.ttlMs / 1000) : 0 }, opts, cb),
  );
  await mkdir(o.out, { recursive: true, mode: 0o700 });
  await writeFileAtomic(keyFile, privateKeyPem, 0o600);
  await writeFileAtomic(join(o.out, OPERATOR_FILES.cert), joinPem(res.chain_pem), 0o644);
  await writeFileAtomic(join(o.out, OPERATOR_FILES.roots), joinPem(res.roots_pem), 0o644);
  const op = res.operator!;
  if (o.json) return out(JSON.stringify({ ...op, files: Object.fromEntries(Object.entries(OPERATOR_FILES).map(([k, f]) => [k, join(o.out, f)])) }, null, 2) + '\n');
  out(
    `Created operator ${op.name} (serial ${op.serial}, expires ${op.not_after}).\n` +
      `Wrote ${join(o.out, OPERATOR_FILES.key)} (0600), ${OPERATOR_FILES.cert} and ${OPERATOR_FILES.roots}: present the certificate over mTLS\n` +
      `to the CA port (server name hitless-ca, trust ca.crt) to use the admin API. Revoke it with 'ca operator revoke ${op.name}'.\n`,
  );
}

export async function listOperators(client: CaAdminServiceClient, o: { json?: boolean }, out: Out): Promise<void> {
  const res = await call<ListOperatorsResponse__Output>((opts, cb) => client.ListOperators({}, opts, cb));
  if (o.json) return out(JSON.stringify(res.operators, null, 2) + '\n');
  const rows = [['NAME', 'STATE', 'SERIAL', 'NOT AFTER', 'CREATED']];
  const now = Date.now();
  for (const op of res.operators as OperatorInfo__Output[]) {
    const state = op.revoked_at ? 'revoked' : Date.parse(op.not_after) <= now ? 'expired' : 'active';
    rows.push([op.name, state, op.serial, op.not_after, op.created_at]);
  }
  table(rows, out);
}

export async function revokeOperator(client: CaAdminServiceClient, name: string, out: Out): Promise<void> {
  const res = await call<RevokeOperatorResponse__Output>((opts, cb) => client.RevokeOperator({ name }, opts, cb));
  out(`revoked operator ${res.operator!.name} (serial ${res.operator!.serial}); it can no longer use the admin API\n`);
}
