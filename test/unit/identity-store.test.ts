// Proves the IdentityStore's on-disk contract: a save/load round trip in one private (0600) file; a crash
// after any step of a save leaves exactly the old or exactly the new identity (never a key from one and a
// certificate from the other); recover() sweeps and reports the temp files a crash left; a key that does not
// match its certificate is refused on load.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HitlessError, type ErrorCode } from '../../shared/errors.js';
import { TEMP_PREFIX } from '../../shared/fs-atomic.js';
import { IdentityStore, type SaveStep, type StoredIdentity } from '../../agent/identity-store.js';
import { FAKE_CLOCK_EPOCH } from '../helpers/unit-fake-clock.js';
import { HOUR_MS, makeLeaf, makeRoot, type TestRoot } from '../helpers/unit-pki.js';

const NOW = FAKE_CLOCK_EPOCH;

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'hl-unit-idstore-'));
  dirs.push(d);
  return d;
}

function isCode(code: ErrorCode) {
  return (err: unknown) => {
    assert.ok(err instanceof HitlessError, `not a HitlessError: ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  };
}

let rootPromise: Promise<TestRoot> | undefined;
const root = () => (rootPromise ??= makeRoot(NOW));

/** A real identity: a fresh key and the leaf the test root issued for it. */
async function makeIdentity(tag: string, issuedAt = NOW): Promise<StoredIdentity> {
  const r = await root();
  const leaf = await makeLeaf(r, issuedAt, { nodeId: 'node-1', notAfter: new Date(issuedAt.getTime() + HOUR_MS) });
  return {
    version: 1,
    nodeId: 'node-1',
    role: 'worker',
    clusterId: 'cluster-1',
    serial: leaf.info.serial,
    issuedAt: issuedAt.toISOString(),
    notAfter: leaf.info.notAfter.toISOString(),
    keyPem: leaf.key.privateKeyPem,
    chainPem: leaf.chainPem,
    bundle: { rootsPem: [r.certPem], crossSignedPem: [], version: 1 },
    removedNodeIds: [`removed-by-${tag}`], // also tells the identities apart at a glance
  };
}

class Crash extends Error {
  constructor(readonly step: SaveStep) {
    super(`simulated crash after ${step}`);
  }
}

test('save then load round-trips the identity exactly', async () => {
  const dir = await tempDir();
  const store = new IdentityStore(join(dir, 'state'));
  const id = await makeIdentity('a');
  await store.save(id);
  assert.deepEqual(await new IdentityStore(join(dir, 'state')).load(), id);
  assert.equal(store.file, join(dir, 'state', 'identity.json'));
  assert.deepEqual(await readdir(join(dir, 'state')), ['identity.json'], 'no temp file left by a clean save');
});

test('the identity file is 0600 and the state dir 0700 (whatever the umask)', async () => {
  const id = await makeIdentity('a');
  for (const umask of [0o000, 0o022, 0o277]) {
    const dir = await tempDir();
    const stateDir = join(dir, 'state');
    const old = process.umask(umask);
    try {
      await new IdentityStore(stateDir).save(id);
    } finally {
      process.umask(old);
    }
    const u = umask.toString(8);
    assert.equal((await stat(join(stateDir, 'identity.json'))).mode & 0o777, 0o600, `file, umask ${u}`);
    assert.equal((await stat(stateDir)).mode & 0o777, 0o700, `dir, umask ${u}`);
  }
});

test('a second save replaces the first', async () => {
  const dir = await tempDir();
  const store = new IdentityStore(dir);
  const a = await makeIdentity('a');
  const b = await makeIdentity('b');
  await store.save(a);
  await store.save(b);
  assert.deepEqual(await store.load(), b);
});

test('load of a missing file (or a missing dir) is undefined', async () => {
  const dir = await tempDir();
  assert.equal(await new IdentityStore(dir).load(), undefined);
  assert.equal(await new IdentityStore(join(dir, 'does', 'not', 'exist')).load(), undefined);
});

test('a crash after any save step leaves exactly the old or exactly the new identity, and recover() sweeps the temp file', async () => {
  const oldId = await makeIdentity('old');
  const newId = await makeIdentity('new', new Date(NOW.getTime() + 30 * 60_000));
  assert.notEqual(oldId.keyPem, newId.keyPem);
  const cases: { step: SaveStep; want: 'old' | 'new'; leftovers: number }[] = [
    { step: 'temp-written', want: 'old', leftovers: 1 },
    { step: 'renamed', want: 'new', leftovers: 0 },
    { step: 'dir-synced', want: 'new', leftovers: 0 },
  ];
  for (const c of cases) {
    const dir = await tempDir();
    await new IdentityStore(dir).save(oldId);

    const crashing = new IdentityStore(dir, {
      afterStep: (step) => {
        if (step === c.step) throw new Crash(step);
      },
    });
    await assert.rejects(crashing.save(newId), (err: unknown) => err instanceof Crash && err.step === c.step, c.step);

    // The "restarted" process: a fresh store on the same dir.
    const restarted = new IdentityStore(dir);
    const swept = await restarted.recover();
    assert.equal(swept.length, c.leftovers, `${c.step}: leftovers ${JSON.stringify(swept)}`);
    for (const f of swept) assert.ok(f.startsWith(`${TEMP_PREFIX}identity.json`), f);
    assert.deepEqual(await readdir(dir), ['identity.json'], `${c.step}: only the identity remains`);

    const loaded = await restarted.load();
    assert.deepEqual(loaded, c.want === 'old' ? oldId : newId, `${c.step}: expected the ${c.want} identity`);
    // Never a mix: key, chain and metadata all come from the same save.
    assert.ok(loaded);
    const from = [oldId, newId].filter((x) => x.keyPem === loaded.keyPem);
    assert.equal(from.length, 1);
    assert.equal(loaded.chainPem[0], from[0]!.chainPem[0], `${c.step}: key and certificate from the same identity`);
    assert.equal(loaded.serial, from[0]!.serial);
    assert.deepEqual(await restarted.recover(), [], `${c.step}: a second recover finds nothing`);
  }
});

test('a crash during the very first save leaves no identity after recover()', async () => {
  const dir = await tempDir();
  const crashing = new IdentityStore(dir, {
    afterStep: (step) => {
      if (step === 'temp-written') throw new Crash(step);
    },
  });
  await assert.rejects(crashing.save(await makeIdentity('a')), Crash);
  const restarted = new IdentityStore(dir);
  assert.equal((await restarted.recover()).length, 1);
  assert.equal(await restarted.load(), undefined);
  assert.deepEqual(await readdir(dir), []);
});

test('recover() leaves unrelated files alone, and creates a missing state dir', async () => {
  const dir = await tempDir();
  await writeFile(join(dir, '.tmp-other.json.abcd'), 'x');
  await writeFile(join(dir, 'notes.txt'), 'x');
  await writeFile(join(dir, `${TEMP_PREFIX}identity.json.0badc0de`), '{"torn":');
  assert.deepEqual(await new IdentityStore(dir).recover(), [`${TEMP_PREFIX}identity.json.0badc0de`]);
  assert.deepEqual((await readdir(dir)).sort(), ['.tmp-other.json.abcd', 'notes.txt']);

  const fresh = join(dir, 'new-state');
  assert.deepEqual(await new IdentityStore(fresh).recover(), []);
  assert.equal((await stat(fresh)).mode & 0o777, 0o700);
});

test('load refuses (INVALID_ARGUMENT) a key that does not match the certificate, and an unknown version', async () => {
  const a = await makeIdentity('a');
  const b = await makeIdentity('b');
  const cases: [string, StoredIdentity | Record<string, unknown>][] = [
    ["a's certificate with b's key", { ...a, keyPem: b.keyPem }],
    ['version 2', { ...a, version: 2 }],
  ];
  for (const [name, content] of cases) {
    const dir = await tempDir();
    const store = new IdentityStore(dir);
    await writeFile(store.file, JSON.stringify(content), { mode: 0o600 });
    await assert.rejects(store.load(), isCode('INVALID_ARGUMENT'), name);
    assert.ok((await readFile(store.file, 'utf8')).length > 0, `${name}: the file is left for the operator`);
  }
});
