// A CSR checker thread (see csr-pool.ts): receives CSR bytes, answers with the canonical SPKI or the typed
// error. It holds no CA state at all.
import { parentPort } from 'node:worker_threads';
import { validateCsr } from '../shared/pki/csr.js';
import { isHitlessError } from '../shared/errors.js';

const port = parentPort!;
port.on('message', (msg: { id: number; der: Uint8Array }) => {
  validateCsr(msg.der).then(
    ({ spkiDer }) => port.postMessage({ id: msg.id, spkiDer }),
    (err: unknown) =>
      port.postMessage({
        id: msg.id,
        error: isHitlessError(err) ? { code: err.code, message: err.message } : { code: undefined, message: String((err as Error)?.message ?? err) },
      }),
  );
});
port.postMessage({ ready: true });
