// Attack suite, TLS versions (issue 8, item 7), checked with the real `openssl` CLI: the CA port and the
// agent's node port speak TLS 1.3 only by default (the issue's `-tls1_2 -cipher ECDHE-ECDSA-AES128-SHA`
// handshake completed before); `--tls-min-version 1.2` admits TLS 1.2 with ECDHE + AEAD suites only; and an
// agent, as a client, refuses a server that offers only TLS 1.2. Neither port resumes a TLS session: every
// connection makes a full handshake with its certificate (shared/grpc/no-resumption.ts).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { connect as tlsConnect } from 'node:tls';
import { tmpDir } from '../helpers/tmp.js';
import { startCa, serveCa, type TestCa } from '../helpers/cluster.js';
import { startAgent, type TestAgent } from '../helpers/agents.js';
import { freePort, run, runCli, type CliResult } from '../helpers/proc.js';

let dir: Awaited<ReturnType<typeof tmpDir>>;
let ca: TestCa;
let agent: TestAgent;

/** One handshake with `openssl s_client` (stdin closed: it exits right after). */
async function handshake(port: number, args: string[], certOut?: string): Promise<{ ok: boolean; protocol?: string; cipher?: string; out: string }> {
  const client = certOut ? ['-cert', join(certOut, 'node.crt'), '-key', join(certOut, 'node.key')] : [];
  const r: CliResult = await run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'hitless-ca', ...client, ...args]);
  const out = r.stdout + r.stderr;
  const m = /New, (TLSv[\d.]+), Cipher is (\S+)/.exec(out);
  return { ok: !!m && m[2] !== '(NONE)', protocol: m?.[1], cipher: m?.[2], out };
}

before(async () => {
  dir = await tmpDir();
  ca = await startCa(dir.path);
  agent = startAgent(dir.path, 'a1', { ca: ca.address, token: ca.init.tokens.worker, port: await freePort(), extra: ['--cert-out', join(dir.path, 'a1-out')] });
  await agent.daemon.waitFor('agent.listening', { timeoutMs: 60_000 });
});

after(async () => {
  await agent?.daemon.stop();
  await ca?.daemon.stop();
  await dir?.cleanup();
});

test('the CA port refuses TLS 1.2 (the CBC/SHA-1 suite of the issue, and any other) and speaks TLS 1.3', async () => {
  const port = Number(ca.address.split(':')[1]);
  const cbc = await handshake(port, ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-SHA']);
  assert.equal(cbc.ok, false, cbc.out);
  const gcm12 = await handshake(port, ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-GCM-SHA256']);
  assert.equal(gcm12.ok, false, gcm12.out);
  const v13 = await handshake(port, ['-tls1_3']);
  assert.equal(v13.ok, true, v13.out);
  assert.equal(v13.protocol, 'TLSv1.3');
});

test("the agent's node port refuses TLS 1.2 and speaks TLS 1.3", async () => {
  const certOut = join(dir.path, 'a1-out');
  const v12 = await handshake(agent.port, ['-tls1_2'], certOut);
  assert.equal(v12.ok, false, v12.out);
  const v13 = await handshake(agent.port, ['-tls1_3'], certOut);
  assert.equal(v13.ok, true, v13.out);
  assert.equal(v13.protocol, 'TLSv1.3');
});

/**
 * Two connections with the node's certificate: the first keeps the session ticket(s) the server sends after the
 * handshake, the second offers them back. Whether the second was resumed (no certificate exchange).
 */
async function resumed(port: number, certOut: string): Promise<{ first: boolean; second: boolean; tickets: number }> {
  const [key, cert] = await Promise.all([readFile(join(certOut, 'node.key')), readFile(join(certOut, 'node.crt'))]);
  let session: Buffer | undefined;
  let tickets = 0;
  const reused: boolean[] = [];
  for (let i = 0; i < 2; i++) {
    // Only resumption is under test here: the server's certificate is not checked.
    const socket = tlsConnect({ host: '127.0.0.1', port, key, cert, session, servername: 'hitless-ca', ALPNProtocols: ['h2'], rejectUnauthorized: false });
    socket.on('session', (s: Buffer) => {
      session = s;
      tickets++;
    });
    socket.on('error', () => {});
    await once(socket, 'secureConnect');
    reused.push(socket.isSessionReused());
    // TLS 1.3 tickets come after the handshake: wait for one (the server sends them unasked), then hang up.
    if (i === 0) await once(socket, 'session');
    socket.destroy();
  }
  return { first: reused[0]!, second: reused[1]!, tickets };
}

test('neither port resumes a TLS session: a second connection offering the first one\'s ticket makes a full handshake', async () => {
  const certOut = join(dir.path, 'a1-out');
  for (const port of [Number(ca.address.split(':')[1]), agent.port]) {
    const r = await resumed(port, certOut);
    assert.ok(r.tickets >= 1, 'the client got a ticket to offer');
    assert.deepEqual([r.first, r.second], [false, false], `port ${port}`);
  }
});

test('an agent refuses to join through a server that offers only TLS 1.2', async () => {
  const key = join(dir.path, 'fake.key');
  const cert = join(dir.path, 'fake.crt');
  const made = await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=hitless-ca']);
  assert.equal(made.code, 0, made.stderr);
  const port = await freePort();
  const server = spawn('openssl', ['s_server', '-accept', `127.0.0.1:${port}`, '-tls1_2', '-cert', cert, '-key', key, '-alpn', 'h2'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let serverOut = '';
  server.stdout.on('data', (d: Buffer) => (serverOut += d.toString()));
  server.stderr.on('data', (d: Buffer) => (serverOut += d.toString()));
  try {
    await new Promise<void>((resolve, reject) => {
      const check = () => (/ACCEPT/.test(serverOut) ? resolve() : undefined);
      server.stdout.on('data', check);
      server.once('exit', () => reject(new Error(`s_server exited: ${serverOut}`)));
    });
    const r = await runCli('agent', ['run', '--ca', `127.0.0.1:${port}`, '--token', ca.init.tokens.worker, '--state-dir', join(dir.path, 'fake-agent'), '--listen', '127.0.0.1:0']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /cannot reach the CA/);
    // The server saw a client that would not speak its only version.
    assert.match(serverOut, /unsupported protocol|protocol version|no protocols available/i, serverOut);
  } finally {
    server.kill('SIGTERM');
    await once(server, 'exit').catch(() => {});
  }
});

test('--tls-min-version 1.2 admits TLS 1.2 with ECDHE + AEAD only; TLS 1.3 still works', async () => {
  await ca.daemon.stop();
  const relaxed = await serveCa(ca.stateDir, ca.passphraseFile, ['--tls-min-version', '1.2']);
  ca.daemon = relaxed.daemon;
  const ev = await relaxed.daemon.waitFor('ca.listening');
  assert.equal(ev.tlsMinVersion, '1.2');
  const cbc = await handshake(relaxed.port, ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-SHA']);
  assert.equal(cbc.ok, false, cbc.out);
  const noEcdhe = await handshake(relaxed.port, ['-tls1_2', '-cipher', 'AES128-GCM-SHA256']);
  assert.equal(noEcdhe.ok, false, noEcdhe.out);
  const gcm12 = await handshake(relaxed.port, ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-GCM-SHA256']);
  assert.equal(gcm12.ok, true, gcm12.out);
  assert.equal(gcm12.protocol, 'TLSv1.2');
  const v13 = await handshake(relaxed.port, ['-tls1_3']);
  assert.equal(v13.protocol, 'TLSv1.3');
});
