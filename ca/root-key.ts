// The root key at rest: PKCS#8 DER sealed with AES-256-GCM under a key derived by scrypt from the operator's
// passphrase. GCM's tag authenticates the ciphertext, so a wrong passphrase is detected, never "decrypted"
// into garbage. The format is JSON with its parameters, so they can be raised later without breaking old files.
import { createCipheriv, createDecipheriv, randomBytes, scrypt as scryptCb, type ScryptOptions } from 'node:crypto';
import { open } from 'node:fs/promises';
import { HitlessError } from '../shared/errors.js';
import { tooOpen } from '../shared/private-dir.js';
import { pkcs8Der, pkcs8PemFromDer } from '../shared/pki/keys.js';
import { PASSPHRASE_ENV } from './config.js';

export interface SealedKey {
  format: 'hitless-sealed-key-1';
  kdf: { name: 'scrypt'; N: number; r: number; p: number; salt: string };
  cipher: { name: 'aes-256-gcm'; iv: string; tag: string };
  ciphertext: string;
}

// scrypt cost N=2^17, r=8, p=1 (128 MiB, a few hundred ms): the CA unseals once per start, so we can afford
// the strong end of OWASP's recommendations.
const KDF = { N: 2 ** 17, r: 8, p: 1 } as const;

function deriveKey(passphrase: string, salt: Buffer, params: { N: number; r: number; p: number }): Promise<Buffer> {
  const options: ScryptOptions = { ...params, maxmem: 256 * params.N * params.r + 1024 * 1024 };
  return new Promise((resolve, reject) =>
    scryptCb(passphrase.normalize('NFKC'), salt, 32, options, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export async function sealPrivateKey(privateKeyPem: string, passphrase: string): Promise<SealedKey> {
  if (passphrase.length < 12) {
    throw new HitlessError('INVALID_ARGUMENT', 'the CA passphrase must be at least 12 characters', {
      hint: 'omit --passphrase-file to have a strong one generated',
    });
  }
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const key = await deriveKey(passphrase, salt, KDF);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ciphertext = Buffer.concat([cipher.update(pkcs8Der(privateKeyPem)), cipher.final()]);
  return {
    format: 'hitless-sealed-key-1',
    kdf: { name: 'scrypt', ...KDF, salt: salt.toString('base64') },
    cipher: { name: 'aes-256-gcm', iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64') },
    ciphertext: ciphertext.toString('base64'),
  };
}

export async function unsealPrivateKey(sealed: SealedKey, passphrase: string): Promise<string> {
  if (sealed.format !== 'hitless-sealed-key-1' || sealed.kdf.name !== 'scrypt' || sealed.cipher.name !== 'aes-256-gcm') {
    throw new HitlessError('INVALID_ARGUMENT', `unknown sealed key format "${sealed.format}"`);
  }
  const key = await deriveKey(passphrase, Buffer.from(sealed.kdf.salt, 'base64'), sealed.kdf);
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.cipher.iv, 'base64'));
  decipher.setAuthTag(Buffer.from(sealed.cipher.tag, 'base64'));
  try {
    const der = Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, 'base64')), decipher.final()]);
    return pkcs8PemFromDer(der);
  } catch (cause) {
    throw new HitlessError('WRONG_PASSPHRASE', 'wrong passphrase: the root key could not be decrypted', {
      cause,
      hint: `pass the passphrase printed by 'ca init' with --passphrase-file or ${PASSPHRASE_ENV}`,
    });
  }
}

/**
 * An unseal started before it is needed: `ca serve` starts the root key's scrypt (~0.5 s of CPU, on libuv's
 * thread pool) before it loads its modules and opens the store, so that on two cores the two overlap instead of
 * adding up. The KDF is the same; only its start moves. `take` hands the result to the first unseal that follows
 * (loadTrust, once the store is open), and only if that unseals the very same sealed key (a root replaced in
 * between is unsealed afresh). Either way it lets go of the result: nothing keeps an unsealed key for later.
 */
export class RootKeyAhead {
  #pending: Promise<string> | undefined;

  constructor(
    private readonly sealed: SealedKey,
    passphrase: string,
  ) {
    const pending = unsealPrivateKey(sealed, passphrase);
    // A wrong passphrase surfaces where the key is taken, in the order `ca serve` has always checked things;
    // a result nobody takes (a start that fails earlier) must not end the process as an unhandled rejection.
    pending.catch(() => {});
    this.#pending = pending;
  }

  take(sealed: SealedKey): Promise<string> | undefined {
    const pending = this.#pending;
    this.#pending = undefined;
    return pending && sameSealedKey(this.sealed, sealed) ? pending : undefined;
  }
}

function sameSealedKey(a: SealedKey, b: SealedKey): boolean {
  // Optional chaining: a damaged key file fails in unsealPrivateKey, with its message, not here.
  const fields = (k: SealedKey) => [k?.format, k?.kdf?.name, k?.kdf?.N, k?.kdf?.r, k?.kdf?.p, k?.kdf?.salt, k?.cipher?.name, k?.cipher?.iv, k?.cipher?.tag, k?.ciphertext];
  const x = fields(a);
  return fields(b).every((v, i) => v === x[i]);
}

/**
 * The passphrase from a file (first line) or the environment; undefined when neither is given. Like ssh with
 * a private key, a file that group or others can read is refused: the passphrase is as good as the root key.
 */
export async function readPassphrase(opts: { file?: string; env?: string }): Promise<string | undefined> {
  if (opts.file) {
    const cannotRead = (cause: unknown) => new HitlessError('INVALID_ARGUMENT', `cannot read passphrase file ${opts.file}`, { cause });
    const handle = await open(opts.file, 'r').catch((cause: unknown) => {
      throw cannotRead(cause);
    });
    let text: string;
    try {
      const st = await handle.stat();
      if (st.isFile() && (st.mode & 0o077) !== 0) throw tooOpen(opts.file, st, 'passphrase file');
      text = await handle.readFile('utf8').catch((cause: unknown) => {
        throw cannotRead(cause);
      });
    } finally {
      await handle.close();
    }
    const line = text.split(/\r?\n/)[0] ?? '';
    if (!line) throw new HitlessError('INVALID_ARGUMENT', `passphrase file ${opts.file} is empty`);
    return line;
  }
  return opts.env || undefined;
}

export function generatePassphrase(): string {
  return randomBytes(24).toString('base64url');
}
