// Figure 1: in-process issuance rate — parse + verify the CSR, sign, encode the chain — on one core (the fast
// path, and the @peculiar/x509 reference for comparison) and on all cores (one worker thread per core).
import { availableParallelism } from 'node:os';
import { startModuleWorker } from '../../shared/ts-worker.js';
import { issueLeafWithX509 } from '../helpers/x509-reference.js';
import { createSigner, issueLeaf, type Signer } from '../../ca/issuer.js';
import { validateCsr } from '../../shared/pki/csr.js';
import { generateKeyPairPem } from '../../shared/pki/keys.js';
import { createCsrDer } from '../../shared/pki/csr.js';
import { createRootCertificate } from '../../shared/pki/roots.js';
import { randomId } from '../../shared/ids.js';

export interface IssuanceFixture {
  certPem: string;
  keyPem: string;
  signer: Signer;
  csrs: Uint8Array[];
}

export async function issuanceFixture(poolSize = 256): Promise<IssuanceFixture> {
  const { privateKeyPem } = generateKeyPairPem();
  const now = Date.now();
  const certPem = await createRootCertificate({ privateKeyPem, subject: 'CN=hitless bench root', notBefore: new Date(now - 3_600_000), notAfter: new Date(now + 10 * 365 * 86_400_000) });
  const csrs = await Promise.all(Array.from({ length: poolSize }, () => createCsrDer(generateKeyPairPem().privateKeyPem)));
  return { certPem, keyPem: privateKeyPem, signer: await createSigner(certPem, privateKeyPem), csrs };
}

/** Issues for `durationMs` and returns certificates per second. `reference` uses the x509 builder. */
export async function issuanceLoop(signer: Signer, csrs: Uint8Array[], durationMs: number, reference = false): Promise<number> {
  const clusterId = randomId();
  const start = performance.now();
  let n = 0;
  while (performance.now() - start < durationMs) {
    const { spkiDer } = await validateCsr(csrs[n % csrs.length]!);
    const now = Date.now();
    const req = { spkiDer, nodeId: randomId(), role: 'worker', clusterId, notBefore: new Date(now - 60_000), notAfter: new Date(now + 6 * 3_600_000) };
    await (reference ? issueLeafWithX509(signer, { ...req, serial: Buffer.alloc(16, 1) }) : issueLeaf(signer, req));
    n++;
  }
  return (n / (performance.now() - start)) * 1000;
}


/** All cores: one worker thread per core, each running issuanceLoop; the sum of their rates. */
export async function issuanceAllCores(f: IssuanceFixture, durationMs: number, threads = availableParallelism()): Promise<number> {
  const rates = await Promise.all(
    Array.from({ length: threads }, () =>
      new Promise<number>((resolve, reject) => {
        const w = startModuleWorker(new URL('./issue-worker.ts', import.meta.url), { workerData: { certPem: f.certPem, keyPem: f.keyPem, csrs: f.csrs, durationMs } });
        w.once('message', (rate: number) => {
          resolve(rate);
          void w.terminate();
        });
        w.once('error', reject);
      }),
    ),
  );
  return rates.reduce((a, b) => a + b, 0);
}
