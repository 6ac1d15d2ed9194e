// One issuance loop on its own thread (figure 1, all cores): parse + verify CSR, sign, encode chain.
import { parentPort, workerData } from 'node:worker_threads';
import { createSigner } from '../../ca/issuer.js';
import { issuanceLoop } from './issuance.js';

const { certPem, keyPem, csrs, durationMs } = workerData as { certPem: string; keyPem: string; csrs: Uint8Array[]; durationMs: number };
const signer = await createSigner(certPem, keyPem);
parentPort!.postMessage(await issuanceLoop(signer, csrs, durationMs));
