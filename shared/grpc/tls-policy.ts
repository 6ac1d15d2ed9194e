// TLS protocol policy of a hitless process: TLS 1.3 only unless the operator asks for 1.2 (`--tls-min-version
// 1.2`), and then only ECDHE key exchange with AEAD ciphers — what HTTP/2 (RFC 9113 §9.2) allows anyway.
// Before this, Node's defaults let `openssl s_client -tls1_2 -cipher ECDHE-ECDSA-AES128-SHA` (CBC, SHA-1 MAC)
// complete a handshake with the CA.
//
// Why process-wide (tls.DEFAULT_MIN_VERSION / tls.DEFAULT_CIPHERS, documented, assignable Node APIs) rather
// than per server: grpc-js builds every TLS context itself — the server's on each certificate-provider update
// (http2SecureServer.setSecureContext) and the client's on each new connection — from only ca/cert/key, and
// Node's setSecureContext() resets a minVersion given to the server's constructor (verified: a constructor
// `minVersion: 'TLSv1.3'` accepted TLS 1.2 again after one setSecureContext). The process defaults apply to
// every context created afterwards, server and client alike. A hitless daemon is one process with one
// policy, set once at startup before any server or channel exists.
import tls from 'node:tls';
import { HitlessError } from '../errors.js';

export type TlsMinVersion = '1.3' | '1.2';
export const DEFAULT_TLS_MIN_VERSION: TlsMinVersion = '1.3';

/** TLS 1.3 suites first (OpenSSL picks 1.3 whenever both sides can), then ECDHE + AEAD for 1.2 clients. */
export const TLS12_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export function parseTlsMinVersion(text: string): TlsMinVersion {
  if (text === '1.3' || text === '1.2') return text;
  throw new HitlessError('INVALID_ARGUMENT', `--tls-min-version takes 1.3 or 1.2, got "${text.slice(0, 16)}"`, {
    hint: '1.3 is the default; 1.2 (ECDHE with AES-GCM or ChaCha20-Poly1305 only) is for clients that cannot do 1.3',
  });
}

/** Applies the policy to every TLS context this process creates from now on. */
export function applyTlsPolicy(minVersion: TlsMinVersion = DEFAULT_TLS_MIN_VERSION): void {
  if (minVersion === '1.3') {
    tls.DEFAULT_MIN_VERSION = 'TLSv1.3';
  } else {
    tls.DEFAULT_MIN_VERSION = 'TLSv1.2';
    tls.DEFAULT_CIPHERS = TLS12_CIPHERS;
  }
}

export const TLS_MIN_VERSION_HELP =
  'lowest TLS version spoken: 1.3 (default) or 1.2 for old clients (then ECDHE + AES-GCM/ChaCha20-Poly1305 only)';
