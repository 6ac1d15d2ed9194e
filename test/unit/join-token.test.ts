// Proves join tokens round-trip, that parsing refuses every malformed shape with INVALID_JOIN_TOKEN, and that digests and secrets have their fixed form.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { HitlessError } from '../../shared/errors.js';
import {
  TOKEN_PREFIX,
  TOKEN_VERSION,
  TOKEN_LENGTH,
  MAX_TOKEN_TEXT,
  formatJoinToken,
  generateSecret,
  parseJoinToken,
  rootDigest,
  secretsEqual,
} from '../../shared/join-token.js';

const DIGEST = rootDigest(new Uint8Array([1, 2, 3]));
const SECRET = generateSecret();
const GOOD = formatJoinToken({ rootDigest: DIGEST, secret: SECRET });

function assertInvalidToken(fn: () => unknown): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof HitlessError, `not a HitlessError: ${String(err)}`);
    assert.equal(err.code, 'INVALID_JOIN_TOKEN');
    return true;
  });
}

test('format then parse gives back the same digest and secret', () => {
  assert.equal(GOOD, `${TOKEN_PREFIX}-${TOKEN_VERSION}-${DIGEST}-${SECRET}`);
  assert.deepEqual(parseJoinToken(GOOD), { rootDigest: DIGEST, secret: SECRET });
});

test('parse tolerates surrounding whitespace (a token pasted from a terminal)', () => {
  assert.deepEqual(parseJoinToken(`  ${GOOD}\n`), { rootDigest: DIGEST, secret: SECRET });
});

test('rootDigest is 50 base-36 characters and stable for the same DER', () => {
  const der = randomBytes(400);
  const d = rootDigest(der);
  assert.match(d, /^[0-9a-z]{50}$/);
  assert.equal(rootDigest(Uint8Array.from(der)), d);
  assert.notEqual(rootDigest(randomBytes(400)), d);
  // A digest with leading zero bits is left-padded, not shortened.
  for (let i = 0; i < 50; i++) assert.equal(rootDigest(new Uint8Array([i])).length, 50);
});

test('generateSecret yields distinct 25-character base-36 secrets', () => {
  const secrets = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const s = generateSecret();
    assert.match(s, /^[0-9a-z]{25}$/);
    secrets.add(s);
  }
  assert.equal(secrets.size, 200);
});

const malformed: [string, string][] = [
  ['empty', ''],
  ['wrong prefix', `SWMTKN-1-${DIGEST}-${SECRET}`],
  ['lowercase prefix', `htls-1-${DIGEST}-${SECRET}`],
  ['wrong version', `HTLS-2-${DIGEST}-${SECRET}`],
  ['too few parts', `HTLS-1-${DIGEST}`],
  ['too many parts', `HTLS-1-${DIGEST}-${SECRET}-x`],
  ['short digest', `HTLS-1-${DIGEST.slice(1)}-${SECRET}`],
  ['long digest', `HTLS-1-${DIGEST}0-${SECRET}`],
  ['uppercase digest', `HTLS-1-${DIGEST.toUpperCase()}-${SECRET}`],
  ['illegal char in digest', `HTLS-1-${DIGEST.slice(0, 49)}_-${SECRET}`],
  ['short secret', `HTLS-1-${DIGEST}-${SECRET.slice(1)}`],
  ['long secret', `HTLS-1-${DIGEST}-${SECRET}a`],
  ['uppercase secret', `HTLS-1-${DIGEST}-${'A'.repeat(25)}`],
  ['illegal char in secret', `HTLS-1-${DIGEST}-${SECRET.slice(0, 24)}!`],
  ['empty secret', `HTLS-1-${DIGEST}-`],
];

for (const [name, text] of malformed) {
  test(`parse rejects ${name} with INVALID_JOIN_TOKEN`, () => assertInvalidToken(() => parseJoinToken(text)));
}

test('the version error names the unsupported version', () => {
  assert.throws(() => parseJoinToken(`HTLS-7-${DIGEST}-${SECRET}`), /"7"/);
});

test('secretsEqual compares exactly, including different lengths', () => {
  const cases: [string, string, boolean][] = [
    [SECRET, SECRET, true],
    [SECRET, String(SECRET), true],
    ['', '', true],
    [SECRET, generateSecret(), false],
    [SECRET, SECRET.slice(0, 24), false],
    [SECRET, SECRET + '0', false],
    ['a', '', false],
    [SECRET, SECRET.toUpperCase(), false],
  ];
  for (const [a, b, want] of cases) {
    assert.equal(secretsEqual(a, b), want, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
    assert.equal(secretsEqual(b, a), want, 'symmetric');
  }
});

test('an oversized token is refused by its length, and no error quotes more than a short escaped prefix', () => {
  assert.equal(GOOD.length, TOKEN_LENGTH);
  const huge = `${TOKEN_PREFIX}-${'9'.repeat(3_000_000)}-${DIGEST}-${SECRET}`;
  assert.throws(() => parseJoinToken(huge), (err: unknown) => {
    assert.ok(err instanceof HitlessError && err.code === 'INVALID_JOIN_TOKEN');
    assert.match(err.message, /3000082 characters, a token has 83/);
    assert.ok(err.message.length < 200, `message of ${err.message.length} chars`);
    return true;
  });
  // Under the length bound the version is quoted, escaped and cut.
  const odd = `${TOKEN_PREFIX}-${'\u0007x'.repeat(60)}-${DIGEST}-${SECRET}`;
  assert.ok(odd.length <= MAX_TOKEN_TEXT);
  assert.throws(() => parseJoinToken(odd), (err: unknown) => {
    assert.ok(err instanceof HitlessError && err.code === 'INVALID_JOIN_TOKEN');
    assert.match(err.message, /unsupported token version "(\\x07x)+"… \(120 chars\)/);
    assert.ok(!err.message.includes('\u0007'));
    return true;
  });
});
