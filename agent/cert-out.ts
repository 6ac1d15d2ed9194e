// For workloads that are not ours (nginx, envoy, anything reading files): after every rotation write cert,
// key and bundle atomically into --cert-out, then run --on-rotate (as `step ca renew --exec` does).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Logger } from '../shared/log.js';
import { ensurePrivateDir, writeFileAtomic } from '../shared/fs-atomic.js';
import { joinPem } from '../shared/pki/pem.js';
import type { StoredIdentity } from './identity-store.js';

export const CERT_OUT_FILES = { cert: 'node.crt', key: 'node.key', bundle: 'ca-bundle.crt' } as const;

export async function writeCertOut(dir: string, id: StoredIdentity): Promise<void> {
  await ensurePrivateDir(dir);
  // Key first, then the cert: a reader that reloads on the cert's change finds the matching key already there.
  await writeFileAtomic(join(dir, CERT_OUT_FILES.key), id.keyPem, 0o600);
  await writeFileAtomic(join(dir, CERT_OUT_FILES.bundle), joinPem(id.bundle.rootsPem), 0o644);
  await writeFileAtomic(join(dir, CERT_OUT_FILES.cert), joinPem(id.chainPem), 0o644);
}

/** Runs the operator's reload command through the shell; its failure is logged, never fatal. */
export function runOnRotate(command: string, env: Record<string, string>, log: Logger): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(command, { shell: true, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...env } });
    child.on('error', (err) => {
      log.error('on_rotate.failed', { command, err });
      resolve(null);
    });
    child.on('exit', (code) => {
      (code === 0 ? log.info : log.warn)('on_rotate.exited', { command, code });
      resolve(code);
    });
  });
}
