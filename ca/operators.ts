// Operator credentials: who may use the admin API over the CA port. Admin rights are not a node role: a
// manager node's certificate opens nothing here. An operator credential is a client certificate the CA
// issues for that purpose only (`ca operator create <name>`, over the local admin socket): CN=<name>,
// OU=operator, O=<cluster id>, SAN URI spiffe://<cluster>/operator/<name>. It is listed and revocable; only
// the serial last issued under a name is accepted, so re-creating a name retires the old certificate.
// Node calls and agents refuse OU=operator (Authority.authenticate, agent/peer-auth.ts).
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import { HitlessError, invalidArgument } from '../shared/errors.js';
import { verifyChain } from '../shared/pki/chain.js';
import { toPem } from '../shared/pki/pem.js';
import { validateCsr } from '../shared/pki/csr.js';
import { CLIENT_PROFILE, signLeaf } from '../shared/pki/template.js';
import { OPERATOR_OU } from '../shared/identity.js';
import { formatDuration } from '../shared/duration.js';
import type { CaStore, OperatorRecord } from './store.js';
import type { TrustState } from './authority.js';

const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const OPERATOR_TTL = { defaultMs: 30 * 24 * 3_600_000, minMs: 60_000, maxMs: 365 * 24 * 3_600_000 } as const;
/** Operator records kept at most: bounds the store (revoked ones count until re-used or their cert expired). */
export const MAX_OPERATORS = 1000;

export const operatorUri = (clusterId: string, name: string) => `spiffe://${clusterId}/operator/${name}`;

const NEEDS_OPERATOR =
  "the admin API on the CA port needs an operator credential: create one on the CA host with 'ca operator create <name>' and present its certificate";

export interface IssuedOperator {
  record: OperatorRecord;
  chainPem: string[];
  rootsPem: string[];
}

export class Operators {
  constructor(private readonly d: { store: CaStore; clock: Clock; log: Logger; clusterId: string; trust: () => TrustState }) {}

  async create(req: { name: string; csrDer: Uint8Array; ttlMs?: number }): Promise<IssuedOperator> {
    if (!NAME.test(req.name)) {
      throw invalidArgument('operator name must be 1-63 characters of a-z, 0-9 and -, starting with a letter or digit', "e.g. 'ca operator create alice'");
    }
    const ttlMs = req.ttlMs || OPERATOR_TTL.defaultMs;
    if (ttlMs < OPERATOR_TTL.minMs || ttlMs > OPERATOR_TTL.maxMs) {
      throw invalidArgument(`operator credential TTL ${formatDuration(ttlMs)} is outside ${formatDuration(OPERATOR_TTL.minMs)}..${formatDuration(OPERATOR_TTL.maxMs)}`);
    }
    const now = this.d.clock.now();
    const existing = await this.d.store.getOperator(req.name);
    if (existing && !existing.revokedAt && Date.parse(existing.notAfter) > now.getTime()) {
      throw new HitlessError('ALREADY_EXISTS', `operator ${req.name} already has a live credential (serial ${existing.serial})`, {
        hint: `revoke it first with 'ca operator revoke ${req.name}', or pick another name`,
      });
    }
    if (!existing && (await this.d.store.listOperators()).length >= MAX_OPERATORS) {
      throw new HitlessError('RATE_LIMITED', `the CA already holds ${MAX_OPERATORS} operator records`, { hint: 're-use the names of revoked operators' });
    }
    const { spkiDer } = await validateCsr(req.csrDer);
    const trust = this.d.trust();
    const signer = trust.signer;
    const notAfter = new Date(Math.min(now.getTime() + ttlMs, signer.info.notAfter.getTime()));
    // Client only (CA:false, digitalSignature, clientAuth): it authenticates to the CA and serves nothing.
    const { der, info } = signLeaf(signer.encoder, CLIENT_PROFILE, {
      spkiDer,
      commonName: req.name,
      organizationalUnit: OPERATOR_OU,
      organization: this.d.clusterId,
      dnsNames: [],
      uris: [operatorUri(this.d.clusterId, req.name)],
      notBefore: new Date(now.getTime() - 60_000),
      notAfter,
    });
    const record: OperatorRecord = {
      name: req.name,
      serial: info.serial,
      createdAt: now.toISOString(),
      notAfter: info.notAfter.toISOString(),
      issuerRoot: signer.rootFingerprint,
    };
    await this.d.store.putOperator(record, existing ?? null);
    this.d.log.info('operator.created', { name: record.name, serial: record.serial, notAfter: record.notAfter });
    return { record, chainPem: [toPem(der, 'CERTIFICATE'), ...signer.chainTailPem], rootsPem: trust.rootsPem };
  }

  list(): Promise<OperatorRecord[]> {
    return this.d.store.listOperators();
  }

  async revoke(name: string): Promise<OperatorRecord> {
    const record = await this.d.store.getOperator(name);
    if (!record) throw new HitlessError('NOT_FOUND', `no operator ${name}`, { hint: "list them with 'ca operator list'" });
    if (record.revokedAt) return record;
    const revoked = { ...record, revokedAt: this.d.clock.now().toISOString() };
    await this.d.store.putOperator(revoked, record);
    this.d.log.info('operator.revoked', { name, serial: record.serial });
    return revoked;
  }

  /**
   * The operator presenting `peerDer`, or PERMISSION_DENIED naming the credential needed. The chain is
   * verified again against the current trust (connections outlive certificates), then the name's record must
   * exist, hold this serial, and not be revoked.
   */
  async authenticate(peerDer: Uint8Array | undefined): Promise<OperatorRecord> {
    if (!peerDer) throw new HitlessError('PERMISSION_DENIED', `no client certificate was presented; ${NEEDS_OPERATOR}`);
    const trust = this.d.trust();
    const chain = await verifyChain({ leaf: peerDer, intermediates: trust.crossSignedPem, roots: trust.rootsPem, at: this.d.clock.now() });
    if (!chain.ok) throw new HitlessError('PERMISSION_DENIED', `client certificate rejected (${chain.detail}); ${NEEDS_OPERATOR}`);
    const { subject, serial } = chain.leaf;
    if (subject.organization !== this.d.clusterId || !subject.organizationalUnits.includes(OPERATOR_OU)) {
      const what = subject.organizationalUnits.length ? `a ${subject.organizationalUnits.join('/')} certificate` : 'not an operator certificate';
      throw new HitlessError('PERMISSION_DENIED', `"${subject.commonName}" presented ${what}: node certificates (worker or manager) carry no admin rights; ${NEEDS_OPERATOR}`);
    }
    const record = subject.commonName ? await this.d.store.getOperator(subject.commonName) : undefined;
    if (!record || record.serial !== serial) {
      throw new HitlessError('PERMISSION_DENIED', `operator credential ${serial} for "${subject.commonName}" is not the current one for that name; ${NEEDS_OPERATOR}`);
    }
    if (record.revokedAt) {
      throw new HitlessError('PERMISSION_DENIED', `operator credential of "${record.name}" was revoked at ${record.revokedAt}; ${NEEDS_OPERATOR}`);
    }
    return record;
  }
}
