// Root certificates and cross-signs, built with @peculiar/x509 (the CA only, and rarely: `ca init` and root
// rotations). The root subject is operator text ("CN=…, O=…"), which x509's Name parser reads per RFC 4514.
// Agents never import this file: their certificate needs (CSRs, decoding, chains) are native (csr.ts,
// certs.ts, chain.ts), which keeps x509, its Reflect polyfill and its ASN.1 schemas out of every node.
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { x509, webcrypto } from './crypto-provider.js';
import { randomSerial } from './certs.js';
import { toPem } from './pem.js';

const EC_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
export const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;

/** Imports a PKCS#8 PEM private key for x509 signing (WebCrypto), plus its public half. */
export async function importKeyPair(privateKeyPem: string): Promise<CryptoKeyPair> {
  const keyObject = createPrivateKey(privateKeyPem);
  const pkcs8 = keyObject.export({ format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(keyObject).export({ format: 'der', type: 'spki' });
  const privateKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, EC_ALGORITHM, true, ['sign']);
  const publicKey = await webcrypto.subtle.importKey('spki', spki, EC_ALGORITHM, true, ['verify']);
  return { privateKey, publicKey };
}

export interface RootOptions {
  privateKeyPem: string;
  subject: string;
  notBefore: Date;
  notAfter: Date;
}

const caExtensions = async (publicKey: CryptoKey) => [
  new x509.BasicConstraintsExtension(true, undefined, true),
  new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
  await x509.SubjectKeyIdentifierExtension.create(publicKey, false, webcrypto),
];

/** A self-signed root. */
export async function createRootCertificate(opts: RootOptions): Promise<string> {
  const keys = await importKeyPair(opts.privateKeyPem);
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerial().toString('hex'),
      name: opts.subject,
      notBefore: opts.notBefore,
      notAfter: opts.notAfter,
      keys,
      signingAlgorithm: SIGNING_ALGORITHM,
      extensions: await caExtensions(keys.publicKey),
    },
    webcrypto,
  );
  return toPem(cert.rawData, 'CERTIFICATE');
}

/**
 * Cross-signs `newRootPem` with the old root's key: same subject, key and validity as the new root, issued
 * by the old root. A node that trusts only the old root accepts leaves of the new root through it.
 */
export async function crossSignRoot(newRootPem: string, oldRootPem: string, oldRootKeyPem: string): Promise<string> {
  const newRoot = new x509.X509Certificate(newRootPem);
  const oldRoot = new x509.X509Certificate(oldRootPem);
  const oldKeys = await importKeyPair(oldRootKeyPem);
  const publicKey = await newRoot.publicKey.export(webcrypto);
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerial().toString('hex'),
      subject: newRoot.subjectName,
      issuer: oldRoot.subjectName,
      notBefore: newRoot.notBefore,
      notAfter: newRoot.notAfter,
      publicKey,
      signingKey: oldKeys.privateKey,
      signingAlgorithm: SIGNING_ALGORITHM,
      extensions: [
        ...(await caExtensions(publicKey)),
        await x509.AuthorityKeyIdentifierExtension.create(oldKeys.publicKey, false, webcrypto),
      ],
    },
    webcrypto,
  );
  return toPem(cert.rawData, 'CERTIFICATE');
}
