// Proves the sealed root key round-trips, refuses wrong passphrases and tampering with WRONG_PASSPHRASE, and never stores key material in clear.
// scrypt (N=2^17) costs a few hundred ms per call: this file seals once and unseals six times.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicKey } from 'node:crypto';
import { HitlessError, type ErrorCode } from '../../shared/errors.js';
import { generateKeyPairPem, pkcs8Der } from '../../shared/pki/keys.js';
import { readPassphrase, sealPrivateKey, unsealPrivateKey, generatePassphrase, RootKeyAhead, type SealedKey } from '../../ca/root-key.js';

const PASSPHRASE = 'correct horse battery staple';
const key = generateKeyPairPem();
const spkiDer = createPublicKey(key.publicKeyPem).export({ format: 'der', type: 'spki' });
let sealed: SealedKey;
let dir: string;

function isCode(code: ErrorCode) {
  return (err: unknown) => {
    assert.ok(err instanceof HitlessError, `not a HitlessError: ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  };
}

/** A copy of `s` with one bit flipped in the ciphertext or the GCM tag. */
function flip(s: SealedKey, field: 'ciphertext' | 'tag'): SealedKey {
  const copy = structuredClone(s);
  const bytes = Buffer.from(field === 'tag' ? copy.cipher.tag : copy.ciphertext, 'base64');
  bytes[bytes.length >> 1]! ^= 0x01;
  if (field === 'tag') copy.cipher.tag = bytes.toString('base64');
  else copy.ciphertext = bytes.toString('base64');
  return copy;
}

before(async () => {
  sealed = await sealPrivateKey(key.privateKeyPem, PASSPHRASE);
  dir = await mkdtemp(join(tmpdir(), 'hl-unit-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('seal records its parameters in a versioned JSON document', () => {
  assert.equal(sealed.format, 'hitless-sealed-key-1');
  assert.deepEqual({ ...sealed.kdf, salt: undefined }, { name: 'scrypt', N: 2 ** 17, r: 8, p: 1, salt: undefined });
  assert.equal(Buffer.from(sealed.kdf.salt, 'base64').length, 16);
  assert.equal(sealed.cipher.name, 'aes-256-gcm');
  assert.equal(Buffer.from(sealed.cipher.iv, 'base64').length, 12);
  assert.equal(Buffer.from(sealed.cipher.tag, 'base64').length, 16);
});

test('the sealed JSON holds no plaintext key material', () => {
  const json = JSON.stringify(sealed);
  const der = pkcs8Der(key.privateKeyPem);
  assert.ok(!json.includes(der.toString('base64')), 'PKCS#8 DER (base64) appears in the sealed file');
  const pemBody = key.privateKeyPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  assert.ok(!json.includes(pemBody), 'PEM body appears in the sealed file');
  for (const line of key.privateKeyPem.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'))) {
    assert.ok(!json.includes(line), 'a PEM line appears in the sealed file');
  }
  // The ciphertext is the DER's length (GCM is a stream mode) but not the DER.
  const ct = Buffer.from(sealed.ciphertext, 'base64');
  assert.equal(ct.length, der.length);
  assert.notDeepEqual(ct, der);
});

test('unseal with the right passphrase gives back the same key', async () => {
  const pem = await unsealPrivateKey(sealed, PASSPHRASE);
  assert.match(pem, /^-----BEGIN PRIVATE KEY-----\n/);
  assert.deepEqual(createPublicKey(pem).export({ format: 'der', type: 'spki' }), spkiDer);
  assert.deepEqual(pkcs8Der(pem), pkcs8Der(key.privateKeyPem));
});

test('unseal with a wrong passphrase fails with WRONG_PASSPHRASE', async () => {
  await assert.rejects(unsealPrivateKey(sealed, PASSPHRASE + '!'), isCode('WRONG_PASSPHRASE'));
});

test('tampered ciphertext fails with WRONG_PASSPHRASE, never yields a key', async () => {
  await assert.rejects(unsealPrivateKey(flip(sealed, 'ciphertext'), PASSPHRASE), isCode('WRONG_PASSPHRASE'));
});

test('a tampered authentication tag fails with WRONG_PASSPHRASE', async () => {
  await assert.rejects(unsealPrivateKey(flip(sealed, 'tag'), PASSPHRASE), isCode('WRONG_PASSPHRASE'));
});

test('an unseal started ahead is handed once, and only to an unseal of the same sealed key', async () => {
  const ahead = new RootKeyAhead(sealed, PASSPHRASE);
  const pending = ahead.take(structuredClone(sealed)); // the same key, read again from its file
  assert.ok(pending, 'the same sealed key takes the early unseal');
  assert.deepEqual(pkcs8Der(await pending), pkcs8Der(key.privateKeyPem));
  assert.equal(ahead.take(sealed), undefined, 'handed out once: nothing keeps the unsealed key for later');
  // A root replaced between the early read and the real one (a finished rotation) is unsealed afresh.
  const other = await sealPrivateKey(key.privateKeyPem, PASSPHRASE); // same key, new salt and nonce
  const replaced = new RootKeyAhead(sealed, PASSPHRASE);
  assert.equal(replaced.take(other), undefined);
  assert.equal(replaced.take(sealed), undefined, 'a mismatch lets go of the early result too');
});

test('an unseal ahead with a wrong passphrase fails where it is taken, and not taken it fails nothing', async () => {
  const wrong = new RootKeyAhead(sealed, PASSPHRASE + '!');
  await assert.rejects(wrong.take(sealed)!, isCode('WRONG_PASSPHRASE'));
  // Never taken (a start that failed earlier): its rejection must count as handled. The pending scrypt keeps this
  // process alive until it settles, and an unhandled rejection then would crash this file (a failure).
  new RootKeyAhead(flip(sealed, 'tag'), PASSPHRASE);
});

test('passphrases shorter than 12 characters are refused before any work (INVALID_ARGUMENT)', async () => {
  for (const p of ['', 'short', 'x'.repeat(11)]) {
    await assert.rejects(sealPrivateKey(key.privateKeyPem, p), isCode('INVALID_ARGUMENT'));
  }
});

test('an unknown sealed format is INVALID_ARGUMENT (checked before the KDF runs)', async () => {
  const variants: SealedKey[] = [
    { ...sealed, format: 'hitless-sealed-key-2' as SealedKey['format'] },
    { ...sealed, kdf: { ...sealed.kdf, name: 'argon2' as 'scrypt' } },
    { ...sealed, cipher: { ...sealed.cipher, name: 'chacha20-poly1305' as 'aes-256-gcm' } },
  ];
  for (const v of variants) await assert.rejects(unsealPrivateKey(v, PASSPHRASE), isCode('INVALID_ARGUMENT'));
});

test('generatePassphrase is long enough to seal with, and random', () => {
  const a = generatePassphrase();
  assert.ok(a.length >= 12);
  assert.match(a, /^[A-Za-z0-9_-]+$/);
  assert.notEqual(generatePassphrase(), a);
});

test('readPassphrase: file first line wins over the environment', async (t) => {
  const write = async (name: string, text: string) => {
    const file = join(dir, name);
    await writeFile(file, text, { mode: 0o600 });
    return file;
  };
  await t.test('first line only, LF', async () => {
    assert.equal(await readPassphrase({ file: await write('lf', 'first line pass\nsecond\n') }), 'first line pass');
  });
  await t.test('first line only, CRLF', async () => {
    assert.equal(await readPassphrase({ file: await write('crlf', 'windows pass\r\nsecond\r\n') }), 'windows pass');
  });
  await t.test('no trailing newline', async () => {
    assert.equal(await readPassphrase({ file: await write('nonl', 'no newline pass') }), 'no newline pass');
  });
  await t.test('file preferred over env', async () => {
    assert.equal(await readPassphrase({ file: await write('both', 'from file\n'), env: 'from env' }), 'from file');
  });
  await t.test('env when no file', async () => {
    assert.equal(await readPassphrase({ env: 'from env passphrase' }), 'from env passphrase');
  });
  await t.test('neither (or empty env) is undefined', async () => {
    assert.equal(await readPassphrase({}), undefined);
    assert.equal(await readPassphrase({ env: '' }), undefined);
  });
  await t.test('empty file is INVALID_ARGUMENT naming the file', async () => {
    const file = await write('empty', '');
    await assert.rejects(readPassphrase({ file }), isCode('INVALID_ARGUMENT'));
    await assert.rejects(readPassphrase({ file }), (err: Error) => err.message.includes(file));
  });
  await t.test('file with an empty first line is INVALID_ARGUMENT', async () => {
    await assert.rejects(readPassphrase({ file: await write('blank', '\nsecond line\n') }), isCode('INVALID_ARGUMENT'));
  });
  await t.test('a file group or others can read is refused with a chmod 600 hint, whatever it holds', async () => {
    for (const mode of [0o640, 0o604, 0o644]) {
      const file = await write(`open-${mode.toString(8)}`, 'a good passphrase\n');
      await chmod(file, mode);
      await assert.rejects(readPassphrase({ file }), (err: unknown) => {
        assert.ok(err instanceof HitlessError);
        assert.equal(err.code, 'INVALID_ARGUMENT');
        assert.equal(err.message, `passphrase file ${file} is accessible by group or others (mode ${mode.toString(8)}); refusing to use it`);
        assert.equal(err.hint, `chmod 600 ${file}`);
        return true;
      });
    }
    const ok = await write('owner-only', 'a good passphrase\n');
    await chmod(ok, 0o400);
    assert.equal(await readPassphrase({ file: ok }), 'a good passphrase');
  });
  await t.test('missing file is INVALID_ARGUMENT (not ENOENT), even with env set', async () => {
    await assert.rejects(readPassphrase({ file: join(dir, 'does-not-exist'), env: 'from env' }), isCode('INVALID_ARGUMENT'));
  });
});
