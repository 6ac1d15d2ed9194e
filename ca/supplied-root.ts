// `ca rotate-root --cert new.crt --key new.key`: is the operator's certificate usable as the cluster's next root?
// Checked directly rather than through verifyChain, which validates a leaf against *other* certificates and so
// never accepts a certificate that is its own issuer. Each failure says what was wrong, in the order an
// operator would fix it (wrong file, wrong key type, not a CA, not self-signed, dates, wrong key).
import { X509Certificate } from 'node:crypto';
import { HitlessError } from '../shared/errors.js';
import { keyMatchesCertificate } from '../shared/pki/keys.js';
import { decodeCertificate } from '../shared/pki/certs.js';

/** A new root must outlive the certificates it will sign by a wide margin. */
export const ROOT_MIN_REMAINING_MS = 30 * 24 * 3_600_000;

const MAKE_ONE =
  'make one with: openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 -subj "/CN=my root" ' +
  '-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign -keyout new.key -out new.crt';

const refuse = (message: string, hint = MAKE_ONE, cause?: unknown) =>
  new HitlessError('INVALID_ARGUMENT', `the supplied root ${message}`, { hint, cause });

/**
 * An operator-supplied root must be a self-signed ECDSA P-256 CA certificate (basicConstraints CA:TRUE and, when
 * it has a keyUsage extension, keyCertSign), valid now and for at least 30 more days, and `keyPem` its key.
 */
export function checkSuppliedRoot(certPem: string, keyPem: string, now: Date): void {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (cause) {
    throw refuse('certificate does not parse as a PEM X.509 certificate', 'pass the certificate file (PEM) with --cert and its key with --key', cause);
  }
  const key = cert.publicKey;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType !== 'ec' || curve !== 'prime256v1') {
    const what = key.asymmetricKeyType === 'ec' ? `EC ${curve ?? 'unknown curve'}` : `${key.asymmetricKeyType ?? 'unknown'} (${key.asymmetricKeyDetails?.modulusLength ?? '?'} bits)`;
    throw refuse(`has a ${what} key; hitless roots are ECDSA P-256 (node certificates are signed with ECDSA SHA-256)`);
  }
  // From the extensions themselves: node's `ca` (X509_check_ca) is also false for a CA without keyCertSign.
  const decoded = decodeCertificate(new Uint8Array(cert.raw));
  if (!decoded.info.isCa) throw refuse('is not a CA certificate (basicConstraints CA:TRUE is missing)');
  if (!decoded.canIssue) throw refuse('has a keyUsage extension without keyCertSign: it may not sign certificates');
  // Self-signed: issuer name (and key identifiers, when present) match its own subject, and its own key
  // verifies its signature.
  if (!cert.checkIssued(cert)) {
    throw refuse(`is not self-signed: issued by "${cert.issuer.replaceAll('\n', ', ')}", not by its subject "${cert.subject.replaceAll('\n', ', ')}"`);
  }
  if (!cert.verify(key)) throw refuse('is not self-signed: its signature does not verify under its own key');
  const notBefore = new Date(cert.validFrom);
  const notAfter = new Date(cert.validTo);
  if (now.getTime() < notBefore.getTime()) throw refuse(`is not valid before ${notBefore.toISOString()}`, 'wait, or make one whose validity has begun');
  if (now.getTime() > notAfter.getTime()) throw refuse(`expired at ${notAfter.toISOString()}`);
  if (notAfter.getTime() - now.getTime() < ROOT_MIN_REMAINING_MS) {
    throw refuse(`expires at ${notAfter.toISOString()}; a new root must be valid for at least 30 more days`);
  }
  let matches: boolean;
  try {
    matches = keyMatchesCertificate(keyPem, decoded.info);
  } catch (cause) {
    throw refuse('key does not parse as a PEM private key (PKCS#8 or SEC1, unencrypted)', 'pass the key file with --key; decrypt it first if it is encrypted', cause);
  }
  if (!matches) throw refuse('key does not belong to the supplied certificate', 'pass the key the certificate was made with');
}
