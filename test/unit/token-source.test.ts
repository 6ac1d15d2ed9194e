// Proves where the agent's join token comes from: file, stdin, env, argv; that HITLESS_JOIN_TOKEN is removed
// from the environment in every case; and that errors never quote the token.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HitlessError } from '../../shared/errors.js';
import { readJoinToken, TOKEN_ENV, MAX_TOKEN_INPUT_BYTES } from '../../agent/token-source.js';

const TOKEN = 'HTLS-1-' + 'a'.repeat(50) + '-' + 'b'.repeat(25);
const dirP = mkdtemp(join(tmpdir(), 'hl-token-'));
after(async () => rm(await dirP, { recursive: true, force: true }));
const noStdin = () => Readable.from([]);

test('--token-file: first line, trimmed; a file readable by others is a warning', async () => {
  const file = join(await dirP, 'token');
  await writeFile(file, `${TOKEN}\nignored\n`, { mode: 0o600 });
  const env: NodeJS.ProcessEnv = {};
  assert.deepEqual(await readJoinToken({ file, env, stdin: noStdin() }), { token: TOKEN, source: 'file', warnings: [] });
  const open = join(await dirP, 'open');
  await writeFile(open, ` ${TOKEN} \r\n`, { mode: 0o644 });
  const r = await readJoinToken({ file: open, env, stdin: noStdin() });
  assert.equal(r.token, TOKEN);
  assert.match(r.warnings[0]!, /readable by group or others \(mode 644\); chmod 600/);
});

test('--token-file -: the first line of stdin, without waiting for EOF', async () => {
  const stdin = new Readable({ read() {} });
  stdin.push(`${TOKEN}\n`); // never ended: the writer keeps stdin open
  assert.deepEqual(await readJoinToken({ file: '-', env: {}, stdin }), { token: TOKEN, source: 'stdin', warnings: [] });
});

test('HITLESS_JOIN_TOKEN is read, then removed from the environment; it is removed even when a flag wins', async () => {
  const env: NodeJS.ProcessEnv = { [TOKEN_ENV]: TOKEN, PATH: '/bin' };
  assert.deepEqual(await readJoinToken({ env, stdin: noStdin() }), { token: TOKEN, source: 'env', warnings: [] });
  assert.deepEqual(env, { PATH: '/bin' });
  const env2: NodeJS.ProcessEnv = { [TOKEN_ENV]: 'other' };
  assert.equal((await readJoinToken({ flag: TOKEN, env: env2, stdin: noStdin() })).source, 'argv');
  assert.equal(env2[TOKEN_ENV], undefined);
});

test('no source at all is no token (the agent decides whether it needs one)', async () => {
  assert.deepEqual(await readJoinToken({ env: {}, stdin: noStdin() }), { warnings: [] });
});

test('bad inputs are INVALID_ARGUMENT and never quote the token', async () => {
  const d = await dirP;
  const empty = join(d, 'empty');
  await writeFile(empty, '\n');
  const big = join(d, 'big');
  await writeFile(big, TOKEN + 'x'.repeat(MAX_TOKEN_INPUT_BYTES));
  const cases: [string, Parameters<typeof readJoinToken>[0], RegExp][] = [
    ['both flags', { flag: TOKEN, file: empty, env: {}, stdin: noStdin() }, /mutually exclusive/],
    ['empty file', { file: empty, env: {}, stdin: noStdin() }, /holds no join token/],
    ['missing file', { file: join(d, 'nope'), env: {}, stdin: noStdin() }, /cannot read the token file .*ENOENT/],
    ['oversize file', { file: big, env: {}, stdin: noStdin() }, /larger than 4096 bytes/],
    ['oversize stdin', { file: '-', env: {}, stdin: Readable.from([TOKEN.repeat(100)]) }, /larger than 4096 bytes/],
  ];
  for (const [what, src, message] of cases) {
    await assert.rejects(readJoinToken(src), (e: unknown) => {
      assert.ok(e instanceof HitlessError && e.code === 'INVALID_ARGUMENT', what);
      assert.match(e.message, message, what);
      assert.ok(!e.message.includes(TOKEN.slice(10, 40)), `${what}: the message quotes the token`);
      return true;
    });
  }
});
