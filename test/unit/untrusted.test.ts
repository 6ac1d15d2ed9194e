import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapedPrefix } from '../../shared/untrusted.js';

test('escapedPrefix: short input is quoted whole', () => {
  assert.equal(escapedPrefix('HTLS-1'), '"HTLS-1"');
});

test('escapedPrefix: long input is cut to the prefix and its length is stated', () => {
  const out = escapedPrefix('x'.repeat(3_000_000));
  assert.equal(out, `"${'x'.repeat(32)}"… (3000000 chars)`);
});

test('escapedPrefix: control, quote, backslash and non-ASCII characters are escaped', () => {
  assert.equal(escapedPrefix('a\n"\\\u00e9\u2028'), '"a\\x0a\\x22\\x5c\\xe9\\u{2028}"');
  assert.equal(escapedPrefix(Buffer.from([0, 0x41, 0xff])), '"\\x00A\\xff"');
});
