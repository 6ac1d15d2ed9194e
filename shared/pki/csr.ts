// PKCS#10 certification requests (RFC 2986): the agent creates them, the CA checks them. Both sides use
// Node's native crypto for the signature and our DER writer/reader for the bytes.
import { createPrivateKey, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { invalidCsr } from '../errors.js';
import { TAG, DerError, bytesOf, children, equalBytes, explicit, readRoot, tlv, valueOf } from './der.js';
import { ECDSA_DIGESTS, OID } from './oids.js';
import { encodeName, signDer } from './template.js';

/** A CSR is ~200-300 bytes for P-256; anything past this is not a CSR we could accept. */
export const MAX_CSR_BYTES = 4096;

const VERSION_1 = tlv(TAG.INTEGER, Uint8Array.of(0));
/** The CA ignores the subject (it decides the identity); the request names itself generically. */
const CSR_SUBJECT = encodeName([[OID.commonName, 'hitless-node']]);

/** A PKCS#10 request for `privateKeyPem` (ECDSA with SHA-256), no attributes. */
export function createCsrDer(privateKeyPem: string): Uint8Array {
  const key = createPrivateKey(privateKeyPem);
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
  return signDer(tlv(TAG.SEQUENCE, VERSION_1, CSR_SUBJECT, spki, explicit(0)), key);
}

/** The public key of an accepted CSR: canonical SPKI DER (uncompressed point) and the native key. */
export interface CsrKey {
  spkiDer: Uint8Array;
  key: KeyObject;
}

const CURVE_NAMES: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

function describeKey(key: KeyObject): string {
  const d = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ec':
      return `ECDSA ${CURVE_NAMES[d.namedCurve ?? ''] ?? d.namedCurve ?? 'unknown curve'}`;
    case 'rsa':
    case 'rsa-pss':
      return `${key.asymmetricKeyType.toUpperCase()} ${d.modulusLength ?? '?'}-bit`;
    default:
      return key.asymmetricKeyType ?? 'unknown';
  }
}

/**
 * Parses and checks a CSR: size, strict DER, key type (ECDSA P-256 only) and proof of possession (the
 * request's signature verifies under the key it carries). Native crypto throughout: this runs per issuance
 * (on the CA's CSR worker threads, ca/csr-pool.ts). Rejects with INVALID_CSR saying what was wrong.
 */
export function validateCsr(der: Uint8Array): Promise<CsrKey> {
  return Promise.resolve().then(() => checkCsr(der));
}

function checkCsr(der: Uint8Array): CsrKey {
  if (der.byteLength === 0) throw invalidCsr('empty (send a DER-encoded PKCS#10 request in csr_der)');
  if (der.byteLength > MAX_CSR_BYTES) throw invalidCsr(`${der.byteLength} bytes exceeds the ${MAX_CSR_BYTES}-byte limit`);
  let info: Uint8Array, spki: Uint8Array, hash: string | undefined, signature: Uint8Array;
  try {
    const outer = readRoot(der, TAG.SEQUENCE);
    const parts = children(der, outer);
    const [cri, alg, sig] = parts;
    if (parts.length !== 3 || cri!.tag !== TAG.SEQUENCE || alg!.tag !== TAG.SEQUENCE || sig!.tag !== TAG.BIT_STRING) throw new DerError('not CertificationRequest');
    const fields = children(der, cri!);
    const version = fields[0];
    if (fields.length !== 4 || version!.tag !== TAG.INTEGER || !equalBytes(valueOf(der, version!), Uint8Array.of(0)) || fields[2]!.tag !== TAG.SEQUENCE || fields[3]!.tag !== TAG.CONTEXT_0) {
      throw new DerError('not CertificationRequestInfo v1');
    }
    children(der, fields[1]!); // the subject must parse, even though the CA ignores it
    info = bytesOf(der, cri!);
    spki = bytesOf(der, fields[2]!);
    hash = ECDSA_DIGESTS.get(Buffer.from(bytesOf(der, children(der, alg!)[0]!)).toString('hex'));
    const bits = valueOf(der, sig!);
    if (bits[0] !== 0) throw new DerError('signature has unused bits');
    signature = bits.subarray(1);
  } catch (cause) {
    throw invalidCsr('not a DER-encoded PKCS#10 certification request', cause);
  }
  const key = publicKeyOf(spki);
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw invalidCsr(`unsupported key type ${describeKey(key)}; node keys must be ECDSA P-256`);
  }
  if (!hash) throw invalidCsr('signature algorithm is not ECDSA with SHA-256/384/512');
  let ok = false;
  try {
    ok = verify(hash, info, { key, dsaEncoding: 'der' }, signature);
  } catch (cause) {
    throw invalidCsr('signature could not be checked', cause);
  }
  if (!ok) throw invalidCsr('signature does not verify (no proof of possession of the key)');
  return { spkiDer: isCanonicalP256(spki) ? Uint8Array.from(spki) : key.export({ format: 'der', type: 'spki' }), key };
}

/** SubjectPublicKeyInfo of every uncompressed P-256 key: SEQUENCE { ecPublicKey, prime256v1 } BIT STRING 04… */
const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');
const P256_SPKI_LENGTH = P256_SPKI_PREFIX.length + 65;

function isCanonicalP256(spki: Uint8Array): boolean {
  return spki.length === P256_SPKI_LENGTH && spki[P256_SPKI_PREFIX.length] === 0x04 && P256_SPKI_PREFIX.equals(spki.subarray(0, P256_SPKI_PREFIX.length));
}

/**
 * The CSR's key as a native KeyObject. OpenSSL's DER decoder costs ~150 µs per key (and re-exporting ~130);
 * the usual case, an uncompressed P-256 point in the standard encoding, goes in as JWK coordinates (~85 µs,
 * the point is still checked to be on the curve) and its SPKI bytes are already canonical. Anything else
 * takes the general decoder, which also names unsupported key types.
 */
function publicKeyOf(spki: Uint8Array): KeyObject {
  try {
    if (isCanonicalP256(spki)) {
      const point = Buffer.from(spki.buffer, spki.byteOffset + P256_SPKI_PREFIX.length + 1, 64);
      return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: point.subarray(0, 32).toString('base64url'), y: point.subarray(32).toString('base64url') }, format: 'jwk' });
    }
    return createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch (cause) {
    throw invalidCsr('its public key could not be read', cause);
  }
}
