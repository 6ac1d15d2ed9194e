// Certificate issuance policy: what the CA puts in the certificates it issues. Only the CSR's public key is
// used (checked in shared/pki/csr.ts); the CA decides subject, SANs, usages, serial and validity. The bytes
// are encoded by the certificate template (shared/pki/template.ts: DER + native signing), which also reports
// what it encoded (proven equal to what the decoder in shared/pki/certs.ts reads back).
import { parseCertificate, type CertInfo } from '../shared/pki/certs.js';
import { pemToDer, toPem } from '../shared/pki/pem.js';
import { CA_SERVER_PROFILE, NODE_PROFILE, createLeafEncoder, signLeaf, type LeafEncoder, type LeafFields, type LeafProfile } from '../shared/pki/template.js';
import { CA_SERVER_NAME, CA_SERVER_OU } from '../shared/identity.js';
import { keyMatchesCertificate } from '../shared/pki/keys.js';

/** The key that signs, with its certificate and the chain tail appended to every leaf it issues. */
export interface Signer {
  certPem: string;
  keyPem: string;
  info: CertInfo;
  /** Certificates sent after the leaf (the cross-signed root during a rotation). */
  chainTailPem: string[];
  /** SHA-256 of the root certificate this signer is (or chains to, as a root). */
  rootFingerprint: string;
  /** The template's per-signer constants. */
  encoder: LeafEncoder;
}

export async function createSigner(certPem: string, keyPem: string, chainTailPem: string[] = []): Promise<Signer> {
  const info = parseCertificate(certPem);
  // Callers check this with a hint for the operator (ca/rotation-manager.ts); here it is an invariant.
  if (!keyMatchesCertificate(keyPem, info)) throw new Error(`the signing key does not belong to "${info.subjectName}"`);
  return { certPem, keyPem, info, chainTailPem, rootFingerprint: info.fingerprint, encoder: createLeafEncoder(pemToDer(certPem), keyPem) };
}

/** What the CA decides for a node certificate; the SANs follow from node and cluster id. */
export interface LeafRequest {
  /** Canonical SubjectPublicKeyInfo of the node's key, as validateCsr returns it. */
  spkiDer: Uint8Array;
  nodeId: string;
  role: string;
  clusterId: string;
  notBefore: Date;
  notAfter: Date;
}

export interface IssuedLeaf {
  chainPem: string[];
  info: CertInfo;
}

export function nodeSpiffeId(clusterId: string, nodeId: string): string {
  return `spiffe://${clusterId}/node/${nodeId}`;
}

function issue(signer: Signer, profile: LeafProfile, fields: LeafFields): IssuedLeaf {
  const { der, info } = signLeaf(signer.encoder, profile, fields);
  return { chainPem: [toPem(der, 'CERTIFICATE'), ...signer.chainTailPem], info };
}

/** Node certificate fields: CN=node id, OU=role, O=cluster; DNS SAN node id, URI SAN its SPIFFE id. */
function nodeLeafFields(req: LeafRequest & { serial?: Uint8Array }): LeafFields {
  return {
    spkiDer: req.spkiDer,
    commonName: req.nodeId,
    organizationalUnit: req.role,
    organization: req.clusterId,
    dnsNames: [req.nodeId],
    uris: [nodeSpiffeId(req.clusterId, req.nodeId)],
    notBefore: req.notBefore,
    notAfter: req.notAfter,
    serial: req.serial,
  };
}

/** Signs a node certificate: serverAuth+clientAuth; CA:false. */
export function issueLeaf(signer: Signer, req: LeafRequest & { serial?: Uint8Array }): Promise<IssuedLeaf> {
  return Promise.resolve().then(() => issue(signer, NODE_PROFILE, nodeLeafFields(req)));
}

/** The CA's own TLS certificate fields: named `hitless-ca`, OU=ca; DNS SAN `hitless-ca` only. */
function caServerFields(req: Omit<LeafRequest, 'role' | 'nodeId'>): LeafFields {
  return {
    spkiDer: req.spkiDer,
    commonName: CA_SERVER_NAME,
    organizationalUnit: CA_SERVER_OU,
    organization: req.clusterId,
    dnsNames: [CA_SERVER_NAME],
    uris: [],
    notBefore: req.notBefore,
    notAfter: req.notAfter,
  };
}

/** The CA's own TLS server certificate: serverAuth only; CA:false. */
export function issueCaServerCert(signer: Signer, req: Omit<LeafRequest, 'role' | 'nodeId'>): Promise<IssuedLeaf> {
  return Promise.resolve().then(() => issue(signer, CA_SERVER_PROFILE, caServerFields(req)));
}
