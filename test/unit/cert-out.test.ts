// --cert-out publishes key, certificate and bundle as one unit. A worker thread reads the set in a tight loop
// (resolve `..data`, read the three files) while the real writer publishes hundreds of rotations, including the
// bundle changes of a root rotation; no read may ever see a key that does not match its certificate or a
// certificate that does not chain to the bundle beside it. Also: layout, permissions, cleanup, upgrade from the
// one-file-at-a-time layout, and a damaged directory failing closed without changes.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdir, readdir, readlink, stat, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import { writeCertOut, CERT_OUT_FILES } from '../../agent/cert-out.js';
import type { StoredIdentity } from '../../agent/identity-store.js';
import { startModuleWorker } from '../../shared/ts-worker.js';
import { tmpDir } from '../helpers/tmp.js';
import { makeLeaf, makeRoot } from '../helpers/unit-pki.js';
import { certOutSetProblem, readCertOutSet } from '../helpers/cert-out-check.js';
import type { ReaderResult } from '../helpers/cert-out-reader.js';

const ROTATIONS = 200;
let sets: StoredIdentity[] = [];

function identity(keyPem: string, chainPem: string[], rootsPem: string[], serial: string): StoredIdentity {
  return {
    version: 1, nodeId: 'node-1', role: 'worker', clusterId: 'cluster-1', serial, issuedAt: '', notAfter: '',
    keyPem, chainPem, bundle: { rootsPem, crossSignedPem: [], version: 1 },
  };
}

before(async () => {
  // The sequence of a root rotation from A to B: [A] → [A,B] with A leaves → [A,B] with B leaves → [B].
  const now = new Date();
  const [a, b] = [await makeRoot(now, { subject: 'CN=root A' }), await makeRoot(now, { subject: 'CN=root B' })];
  const leaves = async (root: typeof a, n: number) => Promise.all(Array.from({ length: n }, () => makeLeaf(root, now)));
  const [fromA, fromB] = [await leaves(a, 4), await leaves(b, 4)];
  const phase = (ls: typeof fromA, roots: string[]) => ls.map((l) => identity(l.key.privateKeyPem, l.chainPem, roots, l.info.serial));
  sets = [
    ...phase(fromA.slice(0, 2), [a.certPem]),
    ...phase(fromA.slice(2), [a.certPem, b.certPem]),
    ...phase(fromB.slice(0, 2), [a.certPem, b.certPem]),
    ...phase(fromB.slice(2), [b.certPem]),
  ];
  for (const s of sets) assert.equal(certOutSetProblem({ generation: '', keyPem: s.keyPem, certPem: s.chainPem.join('\n'), bundlePem: s.bundle.rootsPem.join('\n') }), undefined);
});

test('a reader in a tight loop never sees a mixed set across hundreds of rotations', async () => {
  const dir = await tmpDir();
  const out = join(dir.path, 'out');
  await writeCertOut(out, sets[0]!);
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const reader = startModuleWorker(new URL('../helpers/cert-out-reader.ts', import.meta.url), { workerData: { dir: out, stop } });
  const result = once(reader, 'message') as Promise<[ReaderResult]>;
  const failed = once(reader, 'error').then(([err]) => { throw err; });
  await once(reader, 'online');
  for (let i = 1; i <= ROTATIONS; i++) await writeCertOut(out, sets[i % sets.length]!);
  Atomics.store(stop, 0, 1);
  const [r] = await Promise.race([result, failed]);
  await reader.terminate();
  console.log(`# reader: ${r.reads} sets read, ${r.generations} generations seen, ${r.vanished} resolved generations gone before read (retried)`);
  assert.deepEqual(r.problems, [], 'every set read is consistent');
  assert.equal(r.bad, 0);
  assert.ok(r.reads >= ROTATIONS, `the reader read ${r.reads} sets: too few to prove anything`);
  assert.ok(r.generations >= 10, `the reader saw only ${r.generations} generations: it did not read across rotations`);
  await dir.cleanup();
});

test('layout: stable names through ..data, two generations kept, permissions 0700 / 0600', async () => {
  const dir = await tmpDir();
  const out = join(dir.path, 'out');
  const generations: string[] = [];
  for (const s of sets.slice(0, 4)) generations.push(await writeCertOut(out, s));
  assert.equal(new Set(generations).size, 4, 'a new directory per rotation');
  const entries = (await readdir(out)).sort();
  assert.deepEqual(entries, ['..data', ...generations.slice(-2), 'ca-bundle.crt', 'node.crt', 'node.key'].sort(), 'the previous generation is kept, older ones removed');
  assert.equal(await readlink(join(out, '..data')), generations[3]);
  for (const name of Object.values(CERT_OUT_FILES)) {
    assert.ok((await lstat(join(out, name))).isSymbolicLink());
    assert.equal(await readlink(join(out, name)), `..data/${name}`);
  }
  assert.equal((await stat(out)).mode & 0o777, 0o700);
  assert.equal((await stat(join(out, generations[3]!))).mode & 0o777, 0o700);
  assert.equal((await stat(join(out, 'node.key'))).mode & 0o777, 0o600);
  assert.equal((await stat(join(out, 'node.crt'))).mode & 0o777, 0o644);
  const set = readCertOutSet(out);
  assert.equal(set.keyPem, sets[3]!.keyPem);
  assert.equal(certOutSetProblem(set), undefined);
  await dir.cleanup();
});

test('concurrent publications (a renewal and a pushed bundle) run one at a time; the last one stays', async () => {
  const dir = await tmpDir();
  const out = join(dir.path, 'out');
  const generations = await Promise.all(sets.map((s) => writeCertOut(out, s)));
  assert.equal(await readlink(join(out, '..data')), generations.at(-1));
  assert.equal(readCertOutSet(out).keyPem, sets.at(-1)!.keyPem);
  assert.equal((await readdir(out)).filter((e) => e.startsWith('..gen-')).length, 2, 'current and previous only');
  await dir.cleanup();
});

test('upgrade from one-file-at-a-time: regular files become links, nothing goes missing', async () => {
  const dir = await tmpDir();
  const out = join(dir.path, 'out');
  await mkdir(out, { mode: 0o700 });
  for (const name of Object.values(CERT_OUT_FILES)) await writeFile(join(out, name), 'old\n');
  await writeFile(join(out, 'operator-notes.txt'), 'kept\n');
  await writeCertOut(out, sets[0]!);
  for (const name of Object.values(CERT_OUT_FILES)) assert.ok((await lstat(join(out, name))).isSymbolicLink());
  assert.ok((await readdir(out)).includes('operator-notes.txt'), 'entries that are not ours are left alone');
  assert.equal(certOutSetProblem(readCertOutSet(out)), undefined);
  await dir.cleanup();
});

test('a ..data that is not our symlink fails closed and changes nothing', async () => {
  const dir = await tmpDir();
  const out = join(dir.path, 'out');
  await mkdir(join(out, '..data'), { recursive: true, mode: 0o700 });
  const before = (await readdir(out)).sort();
  await assert.rejects(writeCertOut(out, sets[0]!), (err: Error & { code?: string; hint?: string }) => {
    assert.equal(err.code, 'INVALID_ARGUMENT');
    assert.match(err.message, /\.\.data is not a symlink; refusing to touch it/);
    assert.ok(err.hint);
    return true;
  });
  assert.deepEqual((await readdir(out)).sort(), before);
  await dir.cleanup();
});
