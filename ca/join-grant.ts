// Which role a join token grants: the cluster's two tokens (`ca join-token worker|manager`, secrets in the
// store) and the limited ones (ca/join-tokens.ts). A token carries the digest of the root it was issued
// under, so one from another cluster, or from before the last root rotation, is refused with its reason.
import { HitlessError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { formatJoinToken, generateSecret, parseJoinToken, rootDigest, secretsEqual } from '../shared/join-token.js';
import { pemToDer } from '../shared/pki/pem.js';
import type { CaStore, Role } from './store.js';
import type { JoinTokenRegistry } from './join-tokens.js';
import type { JoinTokens, TrustState } from './authority.js';

/** Which token authorized a join: its role, its rate-limit key, and for a limited token its id. */
export interface TokenGrant {
  role: Role;
  key: string;
  limitedId?: string;
}

/** The digest join tokens carry now: that of the trust state's token root. */
export function tokenRootDigest(trust: TrustState): string {
  return rootDigest(pemToDer(trust.tokenRootPem));
}

/** The role `text` grants; a limited token's use is checked (not yet spent: the join spends it when it issues). */
export async function grantForToken(text: string, ctx: { store: CaStore; trust: TrustState; tokens: JoinTokenRegistry }): Promise<TokenGrant> {
  const token = parseJoinToken(text);
  if (!secretsEqual(token.rootDigest, tokenRootDigest(ctx.trust))) {
    if (ctx.trust.retired.some((r) => rootDigest(pemToDer(r.rootPem)) === token.rootDigest)) {
      throw new HitlessError('INVALID_JOIN_TOKEN', 'join token predates the last root rotation: tokens carry the current root digest', {
        hint: "get a current token with 'ca join-token worker' (or manager)",
      });
    }
    throw new HitlessError('INVALID_JOIN_TOKEN', "join token belongs to another cluster: its root digest does not match this CA's root", {
      hint: "get a token from this CA with 'ca join-token worker'",
    });
  }
  const secrets = await ctx.store.getJoinSecrets();
  if (!secrets) throw new HitlessError('CA_NOT_READY', 'the CA store holds no join secrets; see the CA log');
  // Compare against both secrets every time, so timing says nothing about which (if any) matched.
  const isWorker = secretsEqual(token.secret, secrets.worker);
  const isManager = secretsEqual(token.secret, secrets.manager);
  if (isManager) return { role: 'manager', key: 'manager' };
  if (isWorker) return { role: 'worker', key: 'worker' };
  // Not a cluster token: perhaps a limited one (its id is in the secret field, its secret checked by hash).
  const limited = await ctx.tokens.match(token.secret);
  if (limited) {
    await ctx.tokens.spend(limited.id); // refuses an expired, used-up or revoked token before any work
    return { role: limited.role, key: `token:${limited.id}`, limitedId: limited.id };
  }
  throw new HitlessError('INVALID_JOIN_TOKEN', 'join token is not valid for this cluster (wrong or rotated secret)', {
    hint: "get a current token with 'ca join-token worker' (or manager)",
  });
}

/** The cluster join tokens; `rotate` replaces the secrets of the roles it names (old tokens stop working). */
export async function clusterJoinTokens(
  ctx: { store: CaStore; log: Logger; trust: TrustState },
  rotate: { worker?: boolean; manager?: boolean },
): Promise<JoinTokens> {
  let secrets = await ctx.store.getJoinSecrets();
  if (!secrets) throw new HitlessError('CA_NOT_READY', 'the store holds no join tokens (was it created by ca init?)');
  if (rotate.worker || rotate.manager) {
    secrets = {
      worker: rotate.worker ? generateSecret() : secrets.worker,
      manager: rotate.manager ? generateSecret() : secrets.manager,
    };
    await ctx.store.putJoinSecrets(secrets);
    ctx.log.info('join_token.rotated', { worker: !!rotate.worker, manager: !!rotate.manager });
  }
  const digest = tokenRootDigest(ctx.trust);
  return {
    worker: formatJoinToken({ rootDigest: digest, secret: secrets.worker }),
    manager: formatJoinToken({ rootDigest: digest, secret: secrets.manager }),
    rootDigest: digest,
  };
}
