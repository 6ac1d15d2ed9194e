// The package as a user gets it: `npm pack` (which builds dist/ through prepack) and an install of the tarball
// into a temporary prefix with dependency install scripts off, as npm 12 will do by default. The installed
// `ca` and `agent` then create a cluster, serve it, and join a node that publishes --cert-out: compiled code
// only, no TypeScript sources, no tsx, nothing resolved from this checkout.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpDir, writePassphrase } from '../helpers/tmp.js';
import { ROOT, run, runJson, spawnDaemon, type Daemon, type Program } from '../helpers/proc.js';
import type { InitJson } from '../helpers/cluster.js';
import { certOutSetProblem, readCertOutSet } from '../helpers/cert-out-check.js';

/** npm's own variables from an enclosing `npm test` must not steer the inner npm (prefix, global, scripts). */
const npmEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));

async function npm(args: string[], cwd: string): Promise<string> {
  const child = spawn('npm', args, { cwd, env: npmEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0, `npm ${args.join(' ')} failed:\n${output}`);
  return output;
}

/** The flags the shipped agent unit gives node itself (`ExecStart=/usr/bin/env node FLAGS… /opt/hitless/bin/agent`). */
async function unitNodeFlags(): Promise<string[]> {
  const unit = await readFile(join(ROOT, 'agent', 'systemd', 'hitless-agent.service'), 'utf8');
  const exec = /^ExecStart=\/usr\/bin\/env node ((?:--\S+ )*)\/opt\/hitless\/bin\/agent run /m.exec(unit);
  assert.ok(exec, 'the agent unit starts `node [flags] /opt/hitless/bin/agent run`');
  return exec[1]!.trim().split(/\s+/).filter(Boolean);
}

let dir: Awaited<ReturnType<typeof tmpDir>>;
let pkgDir: string;
let ca: Program;
let agent: Exclude<Program, string>;
const daemons: Daemon[] = [];

before(async () => {
  dir = await tmpDir();
  await npm(['pack', '--pack-destination', dir.path], ROOT);
  const tarball = (await readdir(dir.path)).find((f) => f.endsWith('.tgz'));
  assert.ok(tarball, 'npm pack wrote a tarball');
  const prefix = join(dir.path, 'prefix');
  // --prefer-offline: the packages `npm ci` put in the npm cache serve; the registry only fills gaps.
  await npm(['install', '--global', '--prefix', prefix, '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', join(dir.path, tarball)], dir.path);
  pkgDir = join(prefix, 'lib', 'node_modules', 'hitless');
  ca = { name: 'ca (installed)', path: join(prefix, 'bin', 'ca'), cwd: dir.path };
  // The agent runs as the shipped unit starts it: with the node flags its ExecStart names (--lite-mode).
  agent = { name: 'agent (installed)', path: join(prefix, 'bin', 'agent'), cwd: dir.path, nodeArgs: await unitNodeFlags() };
});

after(async () => {
  await Promise.all(daemons.map((d) => d.stop()));
  await dir?.cleanup();
});

test('the tarball holds compiled code and the protos, and installs no dev tools', async () => {
  const files = await readdir(pkgDir, { recursive: true });
  const ours = files.filter((f) => !f.startsWith('node_modules'));
  assert.ok(ours.includes(join('dist', 'ca', 'main.js')));
  assert.ok(ours.includes(join('dist', 'proto', 'hitless', 'v1', 'node_ca.proto')));
  assert.deepEqual(ours.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')), [], 'no TypeScript sources ship');
  for (const dev of ['tsx', 'typescript', 'esbuild']) assert.ok(!existsSync(join(pkgDir, 'node_modules', dev)), `${dev} is not installed`);
  const prod = JSON.parse(await npm(['ls', '--omit=dev', '--json'], ROOT)) as { dependencies: Record<string, unknown> };
  assert.deepEqual(Object.keys(prod.dependencies).filter((d) => /^(tsx|typescript|@types\/)/.test(d)), [], 'npm ls --omit=dev: no dev tools');
});

test('installed ca init, ca serve and agent run: a real join that publishes --cert-out', async () => {
  const passphraseFile = await writePassphrase(dir.path);
  const stateDir = join(dir.path, 'ca');
  const init = await runJson<InitJson>(ca, ['init', '--state-dir', stateDir, '--passphrase-file', passphraseFile, '--json', '--node-cert-ttl', '1h']);
  const serve = spawnDaemon(ca, ['serve', '--state-dir', stateDir, '--passphrase-file', passphraseFile, '--listen', '127.0.0.1:0']);
  daemons.push(serve);
  const { port } = await serve.waitFor('ca.listening', { timeoutMs: 30_000 });
  const tokenFile = join(dir.path, 'join-token');
  await writeFile(tokenFile, init.tokens.worker + '\n', { mode: 0o600 });
  const certOut = join(dir.path, 'tls');
  const node = spawnDaemon(agent, [
    'run', '--ca', `127.0.0.1:${port as number}`, '--token-file', tokenFile, '--state-dir', join(dir.path, 'agent'),
    '--listen', '127.0.0.1:0', '--cert-out', certOut,
  ]);
  daemons.push(node);
  const ready = await node.waitFor('identity.ready', { timeoutMs: 30_000 });
  assert.deepEqual(agent.nodeArgs, ['--lite-mode'], 'the installed agent ran under the unit\'s node flags');
  await node.waitFor('cert_out.written', { timeoutMs: 30_000 });
  const nodes = await runJson<{ nodes: { nodeId: string }[] } | { nodeId: string }[]>(ca, ['nodes', '--json', '--state-dir', stateDir]);
  assert.match(JSON.stringify(nodes), new RegExp(String(ready.nodeId)), 'the CA lists the node');
  const set = readCertOutSet(certOut);
  assert.equal(certOutSetProblem(set), undefined);
  assert.equal(set.bundlePem.trim(), (await readFile(join(stateDir, 'root.crt'), 'utf8')).trim());
});

test('the shipped systemd units verify against the installed binaries (systemd-analyze)', async (t) => {
  const probe = spawn('systemd-analyze', ['--version'], { stdio: 'ignore' });
  const [probeCode] = (await Promise.race([once(probe, 'exit'), once(probe, 'error').then(() => [null])])) as [number | null];
  if (probeCode !== 0) return t.skip('systemd-analyze not found (Debian package "systemd"): unit files not verified');
  // The units name /opt/hitless (README "Install"); here the package lives in the temporary prefix.
  const units = join(dir.path, 'units');
  await mkdir(units);
  const prefix = join(pkgDir, '..', '..', '..');
  const shipped = [
    ['ca/systemd/hitless-ca.service', 'hitless-ca.service'],
    ['agent/systemd/hitless-agent.service', 'hitless-agent.service'],
    ['agent/systemd/hitless-reload@.path', 'hitless-reload@nginx.path'],
    ['agent/systemd/hitless-reload@.service', 'hitless-reload@nginx.service'],
  ];
  for (const [from, to] of shipped) {
    const text = await readFile(join(pkgDir, from!), 'utf8');
    await writeFile(join(units, to!), text.replaceAll('/opt/hitless/', `${prefix}/`));
  }
  // verify exits 0 even on unknown keys or bad values; it reports them on stderr, so both must be clean.
  const verify = await run('systemd-analyze', ['verify', ...shipped.map(([, to]) => join(units, to!))]);
  assert.equal(verify.code, 0, verify.stderr);
  assert.equal(verify.stderr.trim(), '', 'no warnings');
  for (const unit of ['hitless-ca.service', 'hitless-agent.service']) {
    // Exposure 0.0 (locked down) .. 10.0 (unrestricted); the threshold is ×10.
    const security = await run('systemd-analyze', ['security', '--offline=yes', '--threshold=20', join(units, unit)]);
    assert.equal(security.code, 0, `${unit}: exposure above 2.0\n${security.stdout.split('\n').filter((l) => l.includes('Overall')).join('')}`);
  }
});
