// Limited join tokens (`ca join-token create worker|manager --ttl 1h --uses 10`): beside the two cluster
// tokens, tokens that stop working after a time or a number of joins, listed and revocable. The store keeps
// only each secret's SHA-256; a token's id (part of its secret field, shared/join-token.ts) finds its record
// in O(1). A use is consumed in the same durable batch as the join it authorized (Authority.join holds the
// token's lock from the check to that write, so concurrent joins cannot overspend it).
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import { HitlessError } from '../shared/errors.js';
import { formatJoinToken, generateLimitedSecret, hashTokenSecret, secretMatchesHash, splitLimitedSecret, LIMITED_ID_LEN } from '../shared/join-token.js';
import type { CaStore, JoinTokenRecord, Role } from './store.js';
import { checkLimitedTokenRequest, limitedTokenVerdict } from './token-policy.js';

/** Limited tokens kept at most (expired ones are pruned a week after expiry): bounds the store and the list. */
export const MAX_LIMITED_TOKENS = 1000;
const TOKEN_HINT = "create one on the CA host with 'ca join-token create worker --ttl 1h --uses 1'";

export class JoinTokenRegistry {
  constructor(private readonly d: { store: CaStore; clock: Clock; log: Logger }) {}

  async create(req: { role: Role; ttlMs: number; uses: number; rootDigest: string }): Promise<{ token: string; record: JoinTokenRecord }> {
    checkLimitedTokenRequest(req.ttlMs, req.uses);
    const existing = await this.d.store.listJoinTokens();
    if (existing.length >= MAX_LIMITED_TOKENS) {
      throw new HitlessError('RATE_LIMITED', `the CA already holds ${existing.length} limited join tokens (at most ${MAX_LIMITED_TOKENS})`, {
        hint: "revoke unused ones with 'ca join-token revoke <id>'; expired tokens are forgotten a week after they expire",
      });
    }
    let generated = generateLimitedSecret();
    while (await this.d.store.getJoinToken(generated.id)) generated = generateLimitedSecret();
    const now = this.d.clock.now();
    const record: JoinTokenRecord = {
      id: generated.id,
      role: req.role,
      secretSha256: hashTokenSecret(generated.secret),
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + req.ttlMs).toISOString(),
      maxUses: req.uses,
      usesLeft: req.uses,
    };
    await this.d.store.putJoinToken(record, null);
    this.d.log.info('join_token.created', { id: record.id, role: record.role, expiresAt: record.expiresAt, maxUses: record.maxUses });
    return { token: formatJoinToken({ rootDigest: req.rootDigest, secret: generated.tokenSecret }), record };
  }

  list(): Promise<JoinTokenRecord[]> {
    return this.d.store.listJoinTokens();
  }

  async revoke(id: string): Promise<JoinTokenRecord> {
    const record = await this.d.store.getJoinToken(id);
    if (!record) throw new HitlessError('NOT_FOUND', `no limited join token ${id}`, { hint: "list them with 'ca join-token list'" });
    if (record.revokedAt) return record;
    const revoked = { ...record, revokedAt: this.d.clock.now().toISOString() };
    await this.d.store.putJoinToken(revoked, record);
    this.d.log.info('join_token.revoked', { id, role: record.role, usesLeft: record.usesLeft });
    return revoked;
  }

  /** The limited token a token's secret field names, if its secret matches (constant-time); else undefined. */
  async match(tokenSecret: string): Promise<JoinTokenRecord | undefined> {
    const { id, secret } = splitLimitedSecret(tokenSecret);
    if (id.length !== LIMITED_ID_LEN) return undefined;
    const record = await this.d.store.getJoinToken(id);
    return record && secretMatchesHash(secret, record.secretSha256) ? record : undefined;
  }

  /**
   * The record after one more use, or INVALID_JOIN_TOKEN saying why the token no longer works. Call under the
   * token's lock, and write the result with the join's records.
   */
  async spend(id: string): Promise<JoinTokenRecord> {
    return (await this.spendRecord(id)).next;
  }

  /** spend(), with the record it decided on: the write is conditional on it (a use spent by another replica). */
  async spendRecord(id: string): Promise<{ next: JoinTokenRecord; before: JoinTokenRecord }> {
    const record = await this.d.store.getJoinToken(id);
    const now = this.d.clock.now();
    if (!record) throw new HitlessError('INVALID_JOIN_TOKEN', 'join token is not valid for this cluster (it was removed)', { hint: TOKEN_HINT });
    const verdict = limitedTokenVerdict(record, now);
    if (!verdict.ok) throw new HitlessError('INVALID_JOIN_TOKEN', `join token no longer works: ${verdict.detail}`, { hint: TOKEN_HINT });
    return { next: { ...record, usesLeft: record.usesLeft - 1, lastUsedAt: now.toISOString() }, before: record };
  }
}
