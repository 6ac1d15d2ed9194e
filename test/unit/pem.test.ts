// Proves the PEM reader (shared/pki/pem.ts) finds every block of a label in any framing a file may have, and
// refuses damaged blocks instead of returning partial bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { joinPem, pemToDer, toPem } from '../../shared/pki/pem.js';

const a = Uint8Array.from({ length: 100 }, (_, i) => i);
const b = Uint8Array.from({ length: 3 }, (_, i) => 200 + i);

test('toPem writes 64-character lines and one final newline; pemToDer reads it back', () => {
  const pem = toPem(a, 'CERTIFICATE');
  assert.match(pem, /^-----BEGIN CERTIFICATE-----\n(?:[A-Za-z0-9+/]{64}\n)+[A-Za-z0-9+/=]{1,64}\n-----END CERTIFICATE-----\n$/);
  assert.deepEqual(pemToDer(pem), a);
});

test('pemToDer takes the first block of the label, skipping other labels, text around blocks, CRLF and odd line lengths', () => {
  const key = toPem(b, 'PRIVATE KEY');
  const crlf = toPem(a, 'CERTIFICATE').replaceAll('\n', '\r\n');
  const b64 = Buffer.from(b).toString('base64');
  const rewrapped = `-----BEGIN CERTIFICATE-----\n\n${b64.slice(0, 3)}\n${b64.slice(3)}\n\n-----END CERTIFICATE-----`;
  const text = `Bag Attributes\n${key}some text\n${crlf}${rewrapped}`;
  assert.deepEqual(pemToDer(text), a);
  assert.deepEqual(pemToDer(text, 'PRIVATE KEY'), b);
  assert.deepEqual(pemToDer(joinPem([rewrapped, crlf])), b);
});

test('pemToDer refuses text without the label, a block whose END names another label, and bad base64', () => {
  assert.throws(() => pemToDer('hello'), /no CERTIFICATE PEM block found/);
  assert.throws(() => pemToDer(toPem(a, 'PRIVATE KEY')), /no CERTIFICATE PEM block found/);
  assert.throws(() => pemToDer(toPem(a, 'CERTIFICATE').replace('END CERTIFICATE', 'END PRIVATE KEY')), /ends with "PRIVATE KEY"/);
  assert.throws(() => pemToDer(toPem(a, 'CERTIFICATE').replace(/\n[A-Za-z]/, '\n*')), /not valid base64/);
  const pem = toPem(a, 'CERTIFICATE');
  const body = pem.indexOf('\n') + 1;
  assert.throws(() => pemToDer(pem.slice(0, body + 5) + pem.slice(body + 6)), /not valid base64/); // one character lost
});
