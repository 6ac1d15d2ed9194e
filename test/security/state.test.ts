// Damaged state and loose permissions against real `ca serve` / `ca init` / `agent run` processes. A CA with six
// joined nodes is stopped and its state directory kept as a pristine copy; each test damages a fresh copy the
// way the attack table of issue 8 did (store/CURRENT deleted, one byte flipped in the log, an undecodable
// record, the log's tail lost, the head file gone) or loosens a permission (0644 passphrase file, 0755 state
// and cert-out directories), then asserts: exit code, the message and its hint, a `store.corrupt` log event
// where the store is at fault, and that the store is byte-for-byte what it was (SHA-256 over every file).
// The pristine copy still starts, lists its six nodes and takes a join; a healthy store is 0700/0600 under
// umask 000. Disk full: the CA answers INTERNAL (no certificate) while a tmpfs is full, works again once space
// returns, and after a restart has every record written after the episode.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { status as grpcStatus } from '@grpc/grpc-js';
import { chmod, mkdir, readFile, readdir, rm, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Level } from 'level';
import { tmpDir, writePassphrase } from '../helpers/tmp.js';
import { initCa, serveCa } from '../helpers/cluster.js';
import { freePort, run, runCli, runJson, spawnDaemon } from '../helpers/proc.js';
import { fetchRoots, joinNode } from '../helpers/node-identity.js';
import { CaClient, staticConnection } from '../../agent/ca-client.js';
import { createCsrDer } from '../../shared/pki/csr.js';
import { generateKeyPairPem } from '../../shared/pki/keys.js';

let dir: Awaited<ReturnType<typeof tmpDir>>;
let pristine: string;
let passphraseFile: string;
let workerToken: string;
const NODES = 6;

before(async () => {
  dir = await tmpDir();
  const init = await initCa(dir.path);
  pristine = init.stateDir;
  passphraseFile = init.passphraseFile;
  workerToken = init.init.tokens.worker;
  const { daemon, port } = await serveCa(pristine, passphraseFile);
  const address = `127.0.0.1:${port}`;
  const roots = await fetchRoots(address);
  for (let i = 0; i < NODES; i++) await joinNode(address, workerToken, roots);
  assert.equal(await daemon.stop(), 0);
});

after(() => dir?.cleanup());

let copies = 0;
/** A fresh copy of the pristine state dir (modes kept). */
async function copyState(): Promise<string> {
  const to = join(dir.path, `s${copies++}`);
  const r = await run('cp', ['-a', pristine, to]);
  assert.equal(r.code, 0, r.stderr);
  return to;
}

/** SHA-256 over the names, modes and contents of every file under `path` (and nothing else beside it). */
async function treeHash(path: string): Promise<string> {
  const h = createHash('sha256');
  const walk = async (p: string): Promise<void> => {
    for (const name of (await readdir(p)).sort()) {
      const f = join(p, name);
      const st = await stat(f);
      h.update(`${f.slice(path.length)}\0${st.mode}\0`);
      if (st.isDirectory()) await walk(f);
      else h.update(await readFile(f));
    }
  };
  await walk(path);
  return h.digest('hex');
}

const serveOnce = (stateDir: string, pass = passphraseFile) =>
  runCli('ca', ['serve', '--state-dir', stateDir, '--passphrase-file', pass, '--listen', '127.0.0.1:0']);

/** `ca serve` on a damaged copy: exits 1 with STORE_CORRUPT, the hint, a store.corrupt event; nothing changed. */
async function refusedAsCorrupt(stateDir: string, what: RegExp): Promise<string> {
  const before = await treeHash(stateDir);
  const r = await serveOnce(stateDir);
  assert.equal(r.code, 1, `exit code; stderr:\n${r.stderr}`);
  const store = join(stateDir, 'store');
  const message = r.stderr.split('\n').find((l) => l.startsWith('ca: '));
  assert.ok(message, r.stderr);
  assert.match(message, /^ca: the CA store .* is damaged: /);
  assert.match(message, what);
  assert.match(message, /refusing to start \(nothing was changed\) \(STORE_CORRUPT\)$/);
  assert.ok(r.stderr.includes(`hint: restore ${store} from a backup (the whole directory, hitless-head.json included) and start again`), r.stderr);
  assert.ok(r.stderr.split('\n').some((l) => l.startsWith('{') && (JSON.parse(l) as { event: string }).event === 'store.corrupt'), 'store.corrupt logged');
  assert.equal(await treeHash(stateDir), before, 'the state directory is byte-for-byte unchanged');
  return message;
}

const logFile = async (store: string) => join(store, (await readdir(store)).find((f) => f.endsWith('.log'))!);

test('store/CURRENT deleted: refused, naming the file (LevelDB would have started an empty store)', async () => {
  const s = await copyState();
  await unlink(join(s, 'store', 'CURRENT'));
  await refusedAsCorrupt(s, new RegExp(`${join(s, 'store', 'CURRENT')} is missing`));
});

test('one byte flipped in the log: refused with what LevelDB dropped and from which file', async () => {
  const s = await copyState();
  const log = await logFile(join(s, 'store'));
  const bytes = await readFile(log);
  assert.ok(bytes.length > 1000, `the joins are in the log (${bytes.length} bytes)`);
  bytes[Math.floor(bytes.length / 3)]! ^= 0xff;
  await writeFile(log, bytes);
  const message = await refusedAsCorrupt(s, /LevelDB dropped data while recovering it: \(ignoring error\) .*\.log: dropping \d+ bytes; Corruption: checksum mismatch/);
  assert.ok(message.includes(log), `names ${log}: ${message}`);
});

test('an undecodable join-secrets record: refused, naming the record', async () => {
  const s = await copyState();
  const db = new Level<string, string>(join(s, 'store'), { createIfMissing: false, valueEncoding: 'utf8' });
  await db.sublevel<string, string>('meta', { valueEncoding: 'utf8' }).put('tokens', '{"worker": "abc", "mana');
  await db.close();
  await refusedAsCorrupt(s, /record meta\/"tokens" does not decode as JSON: "\{\\x22worker\\x22: \\x22abc\\x22, \\x22mana"/);
});

test('a record changed behind the store\'s back (still valid JSON): refused as a digest mismatch', async () => {
  const s = await copyState();
  const db = new Level<string, string>(join(s, 'store'), { createIfMissing: false, valueEncoding: 'utf8' });
  const nodes = db.sublevel<string, string>('nodes', { valueEncoding: 'utf8' });
  const [key, raw] = (await nodes.iterator({ limit: 1 }).all())[0]!;
  await nodes.put(key, raw.replace('"worker"', '"manager"'));
  await db.close();
  await refusedAsCorrupt(s, /record contents differ: its last commit #\d+ recorded \d+ records, \d+ are there/);
});

test('the log\'s tail lost (truncated: LevelDB notices nothing): refused by the head file', async () => {
  const s = await copyState();
  const log = await logFile(join(s, 'store'));
  await truncate(log, Math.floor((await stat(log)).size / 2));
  await refusedAsCorrupt(s, /the store ends at commit #\d+ but hitless-head.json says #\d+ was made: the last \d+ commit\(s\) are lost/);
});

test('the head file deleted: refused', async () => {
  const s = await copyState();
  await unlink(join(s, 'store', 'hitless-head.json'));
  await refusedAsCorrupt(s, /hitless-head.json is missing \(the store says commit #\d+ was made\)/);
});

test('a passphrase file readable by group or others: ca serve and ca init refuse it (hint: chmod 600)', async () => {
  const s = await copyState();
  const loose = join(dir.path, 'loose-passphrase');
  await writeFile(loose, 'test passphrase, not secret\n', { mode: 0o600 });
  await chmod(loose, 0o644);
  const before = await treeHash(s);
  const r = await serveOnce(s, loose);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`^ca: passphrase file ${loose} is accessible by group or others \\(mode 644\\); refusing to use it \\(INVALID_ARGUMENT\\)\nhint: chmod 600 ${loose}\n`));
  assert.equal(await treeHash(s), before);
  const fresh = join(dir.path, 'init-loose');
  const i = await runCli('ca', ['init', '--state-dir', fresh, '--passphrase-file', loose]);
  assert.equal(i.code, 2, i.stderr);
  assert.match(i.stderr, /hint: chmod 600 /);
  await assert.rejects(stat(fresh), 'ca init created nothing');
});

test('a state dir open to group or others: ca serve and ca init refuse it (hint: chmod 700) and leave its mode', async () => {
  const s = await copyState();
  await chmod(s, 0o755);
  const before = await treeHash(s);
  const r = await serveOnce(s);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`^ca: --state-dir ${s} is accessible by group or others \\(mode 755\\); refusing to use it \\(INVALID_ARGUMENT\\)\nhint: chmod 700 ${s}\n`));
  assert.equal((await stat(s)).mode & 0o777, 0o755, 'not chmod-ed');
  assert.equal(await treeHash(s), before);
  const wide = join(dir.path, 'wide-init');
  await mkdir(wide, { mode: 0o750 });
  await chmod(wide, 0o750);
  const i = await runCli('ca', ['init', '--state-dir', wide, '--passphrase-file', passphraseFile]);
  assert.equal(i.code, 2, i.stderr);
  assert.match(i.stderr, /mode 750\); refusing to use it[\s\S]*hint: chmod 700 /);
  assert.deepEqual(await readdir(wide), [], 'ca init wrote nothing');
});

test('a healthy store (served under umask 000) keeps its records; on it, the other refusals', async (t) => {
  const s = await copyState();
  const old = process.umask(0o000); // inherited by the CA process
  let ca: Awaited<ReturnType<typeof serveCa>>;
  try {
    ca = await serveCa(s, passphraseFile);
  } finally {
    process.umask(old);
  }
  const address = `127.0.0.1:${ca.port}`;
  try {
    const roots = await fetchRoots(address);

    await t.test('its records are all there and a join works (written after open: logs and compactions too)', async () => {
      await joinNode(address, workerToken, roots);
      assert.equal((await runJson<unknown[]>('ca', ['nodes', '--json', '--state-dir', s])).length, NODES + 1);
    });

    await t.test('bundle_version (renew, live-credentials report) / known_version (watch) beyond the current version: INVALID_ARGUMENT naming the current one; nothing recorded', async () => {
      const node = await joinNode(address, workerToken, roots);
      const client = new CaClient(address, staticConnection(roots, { keyPem: node.keyPem, chainPem: node.cert.chain_pem }));
      try {
        const current = Number(node.cert.bundle!.version);
        const beyond = `acknowledged trust bundle version 1000000 is beyond the current version ${current}`;
        await assert.rejects(client.renew(createCsrDer(generateKeyPairPem().privateKeyPem), 1_000_000), (err: Error & { cause?: { code?: number; details?: string } }) => {
          assert.equal(err.cause?.code, grpcStatus.INVALID_ARGUMENT, String(err));
          assert.equal(err.cause?.details, beyond);
          return true;
        });
        await assert.rejects(
          new Promise((resolve, reject) => client.raw.ReportLiveCredentials({ bundle_version: '1000000', issuer_root_fingerprints: [] }, (err, res) => (err ? reject(err) : resolve(res)))),
          (err: Error & { code?: number; details?: string }) => err.code === grpcStatus.INVALID_ARGUMENT && err.details === beyond,
        );
        const stream = client.raw.WatchTrustBundle({ known_version: '1000000' });
        const [err] = (await once(stream, 'error')) as [Error & { code?: number; details?: string }];
        assert.equal(err.code, grpcStatus.INVALID_ARGUMENT);
        assert.equal(err.details, beyond);
        const listed = await runJson<{ node_id: string; serial: string }[]>('ca', ['nodes', '--json', '--state-dir', s]);
        assert.equal(listed.find((n) => n.node_id === node.cert.node_id)?.serial, node.cert.serial, 'no renewal recorded');
        await client.renew(createCsrDer(generateKeyPairPem().privateKeyPem), current); // up to the current version: fine
      } finally {
        client.close();
      }
    });

    await t.test('agent run: a --state-dir or --cert-out open to group or others is refused (hint: chmod 700), not chmod-ed', async () => {
      for (const flag of ['--state-dir', '--cert-out'] as const) {
        const wide = join(dir.path, `agent-wide${flag}`);
        await mkdir(wide);
        await chmod(wide, 0o755);
        const stateDir = flag === '--state-dir' ? wide : join(dir.path, 'agent-state-ok');
        const args = ['run', '--ca', address, '--token', workerToken, '--state-dir', stateDir, '--listen', `127.0.0.1:${await freePort()}`];
        if (flag === '--cert-out') args.push('--cert-out', wide);
        const agent = spawnDaemon('agent', args);
        const code = await agent.exited;
        const out = agent.output.join('\n');
        assert.notEqual(code, 0, out);
        assert.ok(out.includes(`is accessible by group or others (mode 755); refusing to use it`), out);
        assert.ok(out.includes(`chmod 700 ${wide}`), out);
        assert.equal((await stat(wide)).mode & 0o777, 0o755, 'not chmod-ed');
      }
    });
  } finally {
    assert.equal(await ca.daemon.stop(), 0);
  }
  const store = join(s, 'store');
  assert.equal((await stat(store)).mode & 0o777, 0o700);
  for (const f of await readdir(store)) assert.equal((await stat(join(store, f))).mode & 0o777, 0o600, f);
  assert.deepEqual((await readdir(s)).filter((f) => f.startsWith('.store-check-')), [], 'no copy left behind');
});

test('disk full: joins are INTERNAL without a certificate; they work again once space returns, and survive a restart', async (t) => {
  const mnt = join(dir.path, 'tmpfs');
  await mkdir(mnt, { mode: 0o700 });
  const mounted = await run('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0700', 'tmpfs', mnt]);
  if (mounted.code !== 0) return t.skip(`cannot mount a tmpfs here (${mounted.stderr.trim()}): needs root`);
  let ca: Awaited<ReturnType<typeof serveCa>> | undefined;
  try {
    const pass = await writePassphrase(mnt);
    const stateDir = join(mnt, 'ca');
    const init = await runJson<{ tokens: { worker: string } }>('ca', ['init', '--state-dir', stateDir, '--passphrase-file', pass, '--json']);
    ca = await serveCa(stateDir, pass);
    const address = `127.0.0.1:${ca.port}`;
    const roots = await fetchRoots(address);
    const join1 = () => joinNode(address, init.tokens.worker, roots);
    let joined = 1;
    await join1();
    // Fill the disk. A join or two may still fit in the log's last page; then every one fails.
    const filler = join(mnt, 'filler');
    await run('dd', ['if=/dev/zero', `of=${filler}`, 'bs=64k']);
    let failures = 0;
    for (let i = 0; i < 10 && failures < 3; i++) {
      try {
        await join1();
        assert.equal(failures, 0, 'no join succeeds after the first failure while the disk is full');
        joined++;
      } catch (err) {
        assert.equal((err as { code?: number }).code, 13, `INTERNAL, no certificate: ${(err as Error).message}`);
        failures++;
      }
    }
    assert.equal(failures, 3, 'joins fail while the disk is full');
    assert.ok(ca.daemon.events.some((e) => e.event === 'rpc.internal_error'), 'logged as an internal error');
    await rm(filler);
    await join1();
    await join1();
    joined += 2;
    assert.ok(ca.daemon.events.some((e) => e.event === 'store.reopened'), 'the store reopened after the failed write');
    assert.equal(await ca.daemon.stop(), 0);
    // Starting on a full disk: the check cannot copy the store; a clear refusal, then a start once there is space.
    await run('dd', ['if=/dev/zero', `of=${filler}`, 'bs=64k']);
    const full = await runCli('ca', ['serve', '--state-dir', stateDir, '--passphrase-file', pass, '--listen', '127.0.0.1:0']);
    assert.equal(full.code, 1, full.stderr);
    assert.match(full.stderr, /cannot check the CA store .* before opening it: copying it failed: .*no space left on device.*\(UNAVAILABLE\)\nhint: free some space beside /i);
    await rm(filler);
    ca = await serveCa(stateDir, pass);
    const nodes = await runJson<unknown[]>('ca', ['nodes', '--json', '--state-dir', stateDir]);
    assert.equal(nodes.length, joined, 'every join that got a certificate is on disk, before and after the episode');
  } finally {
    await ca?.daemon.stop();
    // A process that just exited may still pin the mount for a moment on a loaded machine: detach it lazily then.
    if ((await run('umount', [mnt])).code !== 0) await run('umount', ['-l', mnt]);
  }
});
