// What an agent process loads. The agent needs certificates only to create CSRs, compare keys and verify
// chains, all native (shared/pki/csr.ts, keys.ts, certs.ts, chain.ts): it must not load @peculiar/x509,
// its Reflect polyfill (reflect-metadata), @peculiar/webcrypto, nor the admin service's proto. These cost an
// idle agent ~16 MB (see README, figure 8). The list comes from outside the code under test: a preloaded hook
// (test/helpers/module-list-hook.mjs) records every resolved ES module, the CommonJS require cache and every
// .proto file read, and prints them on SIGUSR2. Controls: the same hook on `ca serve` sees the admin proto,
// and on a process that does import the three packages it lists each of them.
// The CA's start path is checked the same way: `ca serve` builds reflection on its first call
// (shared/grpc/reflection.ts), so a CA nobody asked for reflection has not loaded @grpc/reflection.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { tmpDir } from '../helpers/tmp.js';
import { initCa } from '../helpers/cluster.js';
import { ROOT, freePort, spawnDaemon, type Daemon, type LogEvent } from '../helpers/proc.js';

const HOOK = { NODE_OPTIONS: `--import ${fileURLToPath(new URL('../helpers/module-list-hook.mjs', import.meta.url))}` };
const FORBIDDEN = ['/node_modules/@peculiar/x509/', '/node_modules/reflect-metadata/', '/node_modules/@peculiar/webcrypto/'];
// Loaded only when needed (README, figure 8): prom-client and @opentelemetry/api once /metrics is served
// (shared/lazy-metrics.ts), @grpc/reflection only where reflection is served (the CA).
const LAZY = ['/node_modules/prom-client/', '/node_modules/@opentelemetry/api/', '/node_modules/@grpc/reflection/'];

let dir: Awaited<ReturnType<typeof tmpDir>>;
let ca: Daemon;
let caAddress: string;
let rootCert: string;
const agents: Daemon[] = [];

interface ModuleList { esm: string[]; cjs: string[]; files: string[] }

async function modulesOf(d: Daemon): Promise<ModuleList> {
  const mark = d.events.length;
  d.child.kill('SIGUSR2');
  const e: LogEvent = await d.waitFor('debug.modules', { after: mark });
  return e as unknown as ModuleList;
}

const loaded = (m: ModuleList, fragment: string) => [...m.esm, ...m.cjs].filter((p) => p.includes(fragment));

before(async () => {
  dir = await tmpDir();
  // 20 s certificates: the agent renews within the test (10-16 s), so the renewal path is loaded too.
  const { init, stateDir, passphraseFile } = await initCa(dir.path, { nodeCertTtl: '20s' });
  ca = spawnDaemon('ca', ['serve', '--state-dir', stateDir, '--passphrase-file', passphraseFile, '--listen', '127.0.0.1:0'], HOOK);
  const address = `127.0.0.1:${(await ca.waitFor('ca.listening')).port as number}`;
  caAddress = address;
  rootCert = init.paths.rootCert;
  const ports = [await freePort(), await freePort()];
  for (const [i, port] of ports.entries()) {
    agents.push(
      spawnDaemon('agent', [
        'run', '--ca', address, '--token', init.tokens.worker, '--state-dir', `${dir.path}/a${i}`, '--listen', `127.0.0.1:${port}`,
        '--peer', `127.0.0.1:${ports[1 - i]}`, '--heartbeat-interval', '200ms', '--probe-interval', '500ms',
        ...(i === 1 ? ['--metrics-listen', '127.0.0.1:0'] : []),
      ], HOOK),
    );
  }
  await Promise.all(agents.map((a) => a.waitFor('peer.stream_up', { timeoutMs: 30_000 })));
});

after(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await ca?.stop();
  await dir?.cleanup();
});

test('an agent that joined, renewed and holds peer streams has loaded no x509, Reflect or WebCrypto polyfill, nor the admin proto', async () => {
  const agent = agents[0]!;
  await agent.waitFor('identity.renewed', { timeoutMs: 40_000 });
  const m = await modulesOf(agent);
  // The hook sees what the agent does load: its own modules, grpc-js, and the protos it serves or calls.
  assert.ok(loaded(m, '/agent/node-agent.ts').length === 1, 'the hook lists the agent modules');
  assert.ok(loaded(m, '/shared/pki/csr.ts').length === 1, 'the hook lists the CSR module');
  assert.ok(loaded(m, '/node_modules/@grpc/grpc-js/').length > 10, 'the hook lists CommonJS files of grpc-js');
  const protos = m.files.map((f) => f.slice(f.lastIndexOf('/') + 1));
  for (const p of ['node.proto', 'node_ca.proto']) assert.ok(protos.includes(p), `the hook lists ${p} among ${protos.join(', ')}`);
  assert.deepEqual(m.files.filter((f) => f.endsWith('/hitless/v1/ca_admin.proto')), [], 'the agent read the admin proto');
  for (const f of FORBIDDEN) assert.deepEqual(loaded(m, f), [], `the agent loaded ${f}`);
  for (const f of LAZY) assert.deepEqual(loaded(m, f), [], `the agent without --metrics-listen loaded ${f}`);
});

test('control: an agent with --metrics-listen loads prom-client and serves its counters', async () => {
  // The second agent serves /metrics: the hook must see prom-client there, or the test above proves nothing.
  const agent = agents[1]!;
  const m = await modulesOf(agent);
  assert.ok(loaded(m, '/node_modules/prom-client/').length > 0, 'prom-client loaded with --metrics-listen');
  assert.deepEqual(loaded(m, '/node_modules/@grpc/reflection/'), [], 'the agent does not serve reflection');
  const port = (await agent.waitFor('metrics.listening')).port as number;
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  assert.match(text, /^hitless_agent_peer_stream_starts_total\{peer="[^"]+"\} [1-9]/m);
});

/** One reflection call (v1 ListServices) to the CA, as grpcurl would make it. */
async function listServices(): Promise<string[]> {
  const root = join(dirname(createRequire(import.meta.url).resolve('@grpc/reflection')), '../proto');
  const def = protoLoader.loadSync('grpc/reflection/v1/reflection.proto', { includeDirs: [root], keepCase: true });
  type Reply = { list_services_response?: { service: { name: string }[] } };
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    grpc: { reflection: { v1: { ServerReflection: new (a: string, c: grpc.ChannelCredentials, o?: grpc.ClientOptions) => grpc.Client & { ServerReflectionInfo(): grpc.ClientDuplexStream<unknown, Reply> } } } };
  };
  const creds = grpc.credentials.createSsl(await readFile(rootCert));
  const client = new pkg.grpc.reflection.v1.ServerReflection(caAddress, creds, { 'grpc.ssl_target_name_override': 'hitless-ca' });
  try {
    const call = client.ServerReflectionInfo();
    const reply = new Promise<Reply>((resolve, reject) => {
      call.once('data', resolve);
      call.once('error', reject);
    });
    call.write({ list_services: '' });
    const names = (await reply).list_services_response?.service.map((s) => s.name) ?? [];
    call.end();
    return names;
  } finally {
    client.close();
  }
}

test('`ca serve` starts without @grpc/reflection (built on the first reflection call), prom-client, etcd3 or the x509 stack; the hook sees the admin proto', async () => {
  const m = await modulesOf(ca);
  // None of LAZY on the CA's start path either: reflection is built on its first call, prom-client loads for --metrics-listen.
  for (const f of LAZY) assert.deepEqual(loaded(m, f), [], `the CA without --metrics-listen, before any reflection call, loaded ${f}`);
  assert.deepEqual(loaded(m, '/node_modules/etcd3/'), [], 'etcd3 (and its own grpc-js) loads only for --etcd');
  assert.ok(m.files.some((f) => f.endsWith('/hitless/v1/ca_admin.proto')), m.files.join(', '));
  for (const f of FORBIDDEN) assert.deepEqual(loaded(m, f), [], `the CA loaded ${f}`);
  // Control: one reflection call loads it (so the empty list above is not the hook missing it).
  assert.ok((await listServices()).includes('hitless.v1.NodeCaService'));
  assert.ok(loaded(await modulesOf(ca), '/node_modules/@grpc/reflection/').length > 0, 'the hook sees @grpc/reflection after a reflection call');
});

test('control: the hook lists x509, reflect-metadata and webcrypto in a process that imports them', async (t) => {
  const script = "import 'reflect-metadata'; await import('@peculiar/x509'); await import('@peculiar/webcrypto'); console.log('ready'); setInterval(() => {}, 1000);";
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, env: { ...process.env, ...HOOK }, stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const deadline = setTimeout(() => child.kill('SIGKILL'), 30_000); // a hang fails the test instead of blocking it
  t.after(() => clearTimeout(deadline));
  let m: ModuleList | undefined;
  for (let r = await lines.next(); !r.done && !m; r = await lines.next()) {
    if (r.value === 'ready') child.kill('SIGUSR2');
    else if (r.value.startsWith('{"event":"debug.modules"')) m = JSON.parse(r.value) as ModuleList;
  }
  assert.ok(m, 'the process printed its module list');
  for (const f of FORBIDDEN) assert.ok(loaded(m, f).length > 0, `the list shows ${f}`);
});
