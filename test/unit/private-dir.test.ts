// ensurePrivateDir (agent --state-dir and --cert-out, ca init --state-dir) and assertPrivateDir (ca serve):
// a directory we create is 0700 whatever the umask; an existing private one is used as it is; an existing one
// that group or others can use is refused with a chmod 700 hint and left exactly as it was.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HitlessError } from '../../shared/errors.js';
import { assertPrivateDir, ensurePrivateDir } from '../../shared/private-dir.js';

const base = await mkdtemp(join(tmpdir(), 'hl-unit-'));
after(() => rm(base, { recursive: true, force: true }));
const mode = async (p: string) => (await stat(p)).mode & 0o777;

test('a new directory (and its missing parents) is 0700 even under umask 000', async () => {
  const old = process.umask(0o000);
  try {
    const dir = join(base, 'new', 'state');
    await ensurePrivateDir(dir, '--state-dir');
    assert.equal(await mode(dir), 0o700);
  } finally {
    process.umask(old);
  }
});

test('an existing 0700 (or narrower) directory is accepted unchanged', async () => {
  for (const m of [0o700, 0o500]) {
    const dir = join(base, `ok-${m.toString(8)}`);
    await mkdir(dir);
    await chmod(dir, m);
    await ensurePrivateDir(dir, '--state-dir');
    await assertPrivateDir(dir, '--state-dir');
    assert.equal(await mode(dir), m);
  }
});

test('an existing directory open to group or others is refused with a hint and not chmod-ed', async () => {
  for (const m of [0o755, 0o750, 0o701, 0o777]) {
    const dir = join(base, `wide-${m.toString(8)}`);
    await mkdir(dir);
    await chmod(dir, m);
    for (const check of [() => ensurePrivateDir(dir, '--cert-out'), () => assertPrivateDir(dir, '--cert-out')]) {
      await assert.rejects(check(), (err: unknown) => {
        assert.ok(err instanceof HitlessError);
        assert.equal(err.code, 'INVALID_ARGUMENT');
        assert.equal(err.message, `--cert-out ${dir} is accessible by group or others (mode ${m.toString(8)}); refusing to use it`);
        assert.equal(err.hint, `chmod 700 ${dir}`);
        return true;
      });
    }
    assert.equal(await mode(dir), m, 'left as it was');
  }
});

test('a file where a directory is expected is refused', async () => {
  const file = join(base, 'a-file');
  await writeFile(file, '');
  await assert.rejects(assertPrivateDir(file, '--state-dir'), /is not a directory/);
});
