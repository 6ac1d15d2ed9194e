// @peculiar/x509 as the dev-time reference that hitless's own DER code is tested against, byte for byte:
// node and CA-server certificates (shared/pki/template.ts), roots and cross-signs (shared/pki/roots.ts), CSRs
// (shared/pki/csr.ts) and the CertInfo the one decoder reports (shared/pki/certs.ts). Tests only: no
// production module imports this or @peculiar/x509.

export const webcrypto: globalThis.Crypto = new Crypto() as unknown as globalThis.Crypto;
x509.cryptoProvider.set(webcrypto);
export { x509 };

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
// x509 v2 resolves its dependencies through tsyringe, which needs the Reflect metadata polyfill loaded before
// x509 itself is evaluated; its WebCrypto is @peculiar/webcrypto (measured slightly faster for x509's pattern).
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { Crypto } from '@peculiar/webcrypto';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { normalizeSerial, sha256Hex, type CertInfo } from '../../shared/pki/certs.js';
import { toPem } from '../../shared/pki/pem.js';
import { nodeSpiffeId, type IssuedLeaf, type LeafRequest, type Signer } from '../../ca/issuer.js';
import { CA_SERVER_NAME, CA_SERVER_OU } from '../../shared/identity.js';
import { invalidCsr } from '../../shared/errors.js';

/** CertInfo as @peculiar/x509 parses the certificate. */
export function x509CertInfo(input: Uint8Array | string): CertInfo {
  const cert = new x509.X509Certificate(typeof input === 'string' ? input : Buffer.from(input));
  const der = new Uint8Array(cert.rawData);
  const json = cert.subjectName.toJSON();
  const get = (type: string) => json.flatMap((rdn) => rdn[type] ?? []);
  return {
    der,
    serial: normalizeSerial(cert.serialNumber),
    subject: { commonName: get('CN')[0], organizationalUnits: get('OU'), organization: get('O')[0] },
    subjectName: cert.subject,
    issuerName: cert.issuer,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    isCa: cert.getExtension(x509.BasicConstraintsExtension)?.ca === true,
    fingerprint: sha256Hex(der),
    spkiFingerprint: sha256Hex(new Uint8Array(cert.publicKey.rawData)),
  };
}

interface X509Signer {
  keys: CryptoKeyPair;
  name: x509.Name;
  authorityKeyId: x509.AuthorityKeyIdentifierExtension;
}
const x509Signers = new WeakMap<Signer, Promise<X509Signer>>();

function x509Signer(signer: Signer): Promise<X509Signer> {
  let s = x509Signers.get(signer);
  if (!s) {
    s = (async () => {
      const keys = await importKeyPair(signer.keyPem);
      return {
        keys,
        name: new x509.X509Certificate(signer.certPem).subjectName,
        authorityKeyId: await x509.AuthorityKeyIdentifierExtension.create(keys.publicKey, false, webcrypto),
      };
    })();
    x509Signers.set(signer, s);
  }
  return s;
}

interface Template {
  serialHex: string;
  subject: x509.JsonName;
  sans: x509.JsonGeneralName[];
  extendedKeyUsages: x509.ExtendedKeyUsage[];
  spkiDer: Uint8Array;
  notBefore: Date;
  notAfter: Date;
}

async function sign(signer: Signer, t: Template): Promise<IssuedLeaf> {
  const s = await x509Signer(signer);
  const publicKey = new x509.PublicKey(Buffer.from(t.spkiDer));
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: t.serialHex,
      subject: new x509.Name(t.subject),
      issuer: s.name,
      notBefore: t.notBefore,
      notAfter: t.notAfter,
      publicKey,
      signingKey: s.keys.privateKey,
      signingAlgorithm: SIGNING_ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension(t.extendedKeyUsages),
        new x509.SubjectAlternativeNameExtension(t.sans),
        s.authorityKeyId,
        await x509.SubjectKeyIdentifierExtension.create(publicKey, false, webcrypto),
      ],
    },
    webcrypto,
  );
  const pem = toPem(cert.rawData, 'CERTIFICATE');
  return { chainPem: [pem, ...signer.chainTailPem], info: x509CertInfo(pem) };
}

/** The node certificate issueLeaf makes, built by @peculiar/x509. */
export function issueLeafWithX509(signer: Signer, req: LeafRequest & { serial: Uint8Array }): Promise<IssuedLeaf> {
  return sign(signer, {
    serialHex: Buffer.from(req.serial).toString('hex'),
    subject: [{ CN: [req.nodeId] }, { OU: [req.role] }, { O: [req.clusterId] }],
    sans: [
      { type: 'dns', value: req.nodeId },
      { type: 'url', value: nodeSpiffeId(req.clusterId, req.nodeId) },
    ],
    extendedKeyUsages: [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
    spkiDer: req.spkiDer,
    notBefore: req.notBefore,
    notAfter: req.notAfter,
  });
}

/** The CA server certificate issueCaServerCert makes, built by @peculiar/x509 (serial given). */
export function issueCaServerCertWithX509(signer: Signer, req: Omit<LeafRequest, 'role' | 'nodeId'> & { serial: Uint8Array }): Promise<IssuedLeaf> {
  return sign(signer, {
    serialHex: Buffer.from(req.serial).toString('hex'),
    subject: [{ CN: [CA_SERVER_NAME] }, { OU: [CA_SERVER_OU] }, { O: [req.clusterId] }],
    sans: [{ type: 'dns', value: CA_SERVER_NAME }],
    extendedKeyUsages: [x509.ExtendedKeyUsage.serverAuth],
    spkiDer: req.spkiDer,
    notBefore: req.notBefore,
    notAfter: req.notAfter,
  });
}

/** The reference CSR check: parse and verify through @peculiar/x509; the SPKI it reads. */
export async function validateCsrWithX509(der: Uint8Array): Promise<Uint8Array> {
  const csr = new x509.Pkcs10CertificateRequest(Buffer.from(der));
  if (!(await csr.verify(webcrypto))) throw invalidCsr('signature does not verify (no proof of possession of the key)');
  return new Uint8Array(csr.publicKey.rawData);
}

/** A CSR built by @peculiar/x509 (the reference for createCsrDer). */
export async function createCsrWithX509(privateKeyPem: string): Promise<Uint8Array> {
  const keys = await importKeyPair(privateKeyPem);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=hitless-node', keys, signingAlgorithm: SIGNING_ALGORITHM }, webcrypto);
  return new Uint8Array(csr.rawData);
}

const caExtensions = async (publicKey: CryptoKey) => [
  new x509.BasicConstraintsExtension(true, undefined, true),
  new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
  await x509.SubjectKeyIdentifierExtension.create(publicKey, false, webcrypto),
];

/** The root createRootCertificate makes, built by @peculiar/x509 (serial given). */
export async function createRootWithX509(opts: { privateKeyPem: string; subject: string; notBefore: Date; notAfter: Date; serialHex: string }): Promise<string> {
  const keys = await importKeyPair(opts.privateKeyPem);
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    { serialNumber: opts.serialHex, name: opts.subject, notBefore: opts.notBefore, notAfter: opts.notAfter, keys, signingAlgorithm: SIGNING_ALGORITHM, extensions: await caExtensions(keys.publicKey) },
    webcrypto,
  );
  return toPem(cert.rawData, 'CERTIFICATE');
}

/** The cross-sign crossSignRoot makes, built by @peculiar/x509 (serial given). */
export async function crossSignWithX509(newRootPem: string, oldRootPem: string, oldRootKeyPem: string, serialHex: string): Promise<string> {
  const newRoot = new x509.X509Certificate(newRootPem);
  const oldRoot = new x509.X509Certificate(oldRootPem);
  const oldKeys = await importKeyPair(oldRootKeyPem);
  const publicKey = await newRoot.publicKey.export(webcrypto);
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serialHex,
      subject: newRoot.subjectName,
      issuer: oldRoot.subjectName,
      notBefore: newRoot.notBefore,
      notAfter: newRoot.notAfter,
      publicKey,
      signingKey: oldKeys.privateKey,
      signingAlgorithm: SIGNING_ALGORITHM,
      extensions: [...(await caExtensions(publicKey)), await x509.AuthorityKeyIdentifierExtension.create(oldKeys.publicKey, false, webcrypto)],
    },
    webcrypto,
  );
  return toPem(cert.rawData, 'CERTIFICATE');
}
