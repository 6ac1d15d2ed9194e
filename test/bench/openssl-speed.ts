// Figure 4: the physical bound on this machine. Issuing costs one ECDSA P-256 verify (the CSR's proof of
// possession) and one sign, so the bound per core is 1 / (1/sign_rate + 1/verify_rate), from `openssl speed`.
import { spawnSync } from 'node:child_process';

export interface OpensslSpeed { signPerSec: number; verifyPerSec: number; boundPerSec: number; version: string }

export function opensslSpeed(seconds = 2): OpensslSpeed {
  const r = spawnSync('openssl', ['speed', '-seconds', String(seconds), 'ecdsap256'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl speed failed: ${r.stderr}`);
  // "256 bits ecdsa (nistp256)   0.0000s   0.0001s  42247.7  14148.5"
  const m = /256 bits ecdsa \(nistp256\)\s+\S+\s+\S+\s+([\d.]+)\s+([\d.]+)/.exec(r.stdout);
  if (!m) throw new Error(`unexpected openssl speed output:\n${r.stdout}`);
  const signPerSec = Number(m[1]);
  const verifyPerSec = Number(m[2]);
  const version = spawnSync('openssl', ['version'], { encoding: 'utf8' }).stdout.trim();
  return { signPerSec, verifyPerSec, boundPerSec: 1 / (1 / signPerSec + 1 / verifyPerSec), version };
}
