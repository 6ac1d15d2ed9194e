// The CA's own TLS identity. The CA serves with a short-lived certificate issued by its current signer, and
// renews it in-process at half its lifetime (and whenever the trust changes) through the same certificate
// provider mechanism agents use: the CA's listener is as hitless as any node's.
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import { generateKeyPairPem, spkiDer } from '../shared/pki/keys.js';
import { MemoryCertificateProvider } from '../shared/grpc/certificate-provider.js';
import { issueCaServerCert } from './issuer.js';
import type { Authority } from './authority.js';

export class CaServerIdentity {
  readonly provider = new MemoryCertificateProvider();
  readonly #abort = new AbortController();
  #loop: Promise<void> | undefined;
  #notAfter = new Date(0);
  #issuedAt = new Date(0);

  constructor(
    private readonly deps: { authority: Authority; clock: Clock; log: Logger; backdateMs: number },
  ) {}

  /** Issues the first certificate (before the listener binds) and starts the renewal loop. */
  async start(): Promise<void> {
    await this.refresh('start');
    this.deps.authority.on('trust', () => {
      this.refresh('trust-changed').catch((err: unknown) => this.deps.log.error('ca_identity.refresh_failed', { err }));
    });
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
  }

  async refresh(reason: string): Promise<void> {
    const { authority, clock, backdateMs } = this.deps;
    const now = clock.now();
    const { privateKeyPem } = generateKeyPairPem();
    const trust = authority.trust;
    const notAfter = new Date(Math.min(now.getTime() + authority.nodeCertTtlMs, trust.signer.info.notAfter.getTime()));
    const leaf = await issueCaServerCert(trust.signer, {
      spkiDer: spkiDer(privateKeyPem),
      clusterId: authority.clusterId,
      notBefore: new Date(now.getTime() - backdateMs),
      notAfter,
    });
    // Retired roots stay trusted at the TLS layer (the Authority accepts them for renewal only), and their
    // cross-signs ride along so a node that still trusts only a retired root can verify this server.
    this.provider.update({
      chainPem: [...leaf.chainPem, ...trust.retired.map((r) => r.crossSignedPem).filter((x) => !leaf.chainPem.includes(x))],
      keyPem: privateKeyPem,
      trustPem: [...trust.rootsPem, ...trust.retired.map((r) => r.rootPem)],
    });
    this.#issuedAt = now;
    this.#notAfter = leaf.info.notAfter;
    this.deps.log.info('ca_identity.issued', { reason, serial: leaf.info.serial, notAfter: leaf.info.notAfter });
  }

  async #run(): Promise<void> {
    const { clock, log } = this.deps;
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      const halfLife = (this.#notAfter.getTime() - this.#issuedAt.getTime()) / 2;
      const wait = this.#issuedAt.getTime() + halfLife - clock.now().getTime();
      try {
        await clock.sleep(Math.max(0, wait), signal);
        await this.refresh('renewal');
      } catch (err) {
        if (signal.aborted) return;
        log.error('ca_identity.refresh_failed', { err });
        await clock.sleep(1000, signal).catch(() => {});
      }
    }
  }
}
