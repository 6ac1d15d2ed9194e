// gRPC health and reflection on real processes, with plain grpc-js clients that present no client
// certificate (as a load balancer or grpcurl would): Check and Watch answer SERVING on the CA port and on
// an agent's node port, Watch sees NOT_SERVING when a graceful stop begins, the hitless methods on the same
// connection are still refused without a certificate, and reflection lists the CA's services.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { tmpDir } from '../helpers/tmp.js';
import { startCa, type TestCa } from '../helpers/cluster.js';
import { freePort } from '../helpers/proc.js';
import { startAgent, type TestAgent } from '../helpers/agents.js';
import { protos } from '../../proto/load.js';
import { Health, checkHealth as check, type HealthClient } from '../helpers/health-client.js';

let dir: Awaited<ReturnType<typeof tmpDir>>;
let ca: TestCa;
let agent: TestAgent;
let rootPem: Buffer;

/** TLS that verifies the server against the cluster root, with no client certificate. */
const caCreds = () => grpc.credentials.createSsl(rootPem);
const CA_OPTIONS = { 'grpc.ssl_target_name_override': 'hitless-ca' };
const nodeCreds = () => grpc.credentials.createSsl(rootPem, null, null, { checkServerIdentity: () => undefined });
// A name, as the agents use: grpc-js would send the dialed IP as the TLS server name, an error since Node 26.
const NODE_OPTIONS = { 'grpc.ssl_target_name_override': 'hitless-node' };

/** Collects the statuses a Watch stream delivers until it ends; `first` resolves with the first one. */
function watch(c: HealthClient, service = '') {
  const seen: string[] = [];
  const call = c.watch({ service });
  let onFirst: (s: string) => void;
  const first = new Promise<string>((r) => (onFirst = r));
  call.on('data', (m: { status: string }) => {
    seen.push(m.status);
    if (seen.length === 1) onFirst(m.status);
  });
  const ended = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  call.on('error', () => {});
  return { seen, first, ended };
}

before(async () => {
  dir = await tmpDir();
  ca = await startCa(dir.path, { nodeCertTtl: '1h' });
  rootPem = await readFile(ca.init.paths.rootCert);
  agent = startAgent(dir.path, 'a0', { ca: ca.address, token: ca.init.tokens.worker, port: await freePort() });
  await agent.daemon.waitFor('agent.listening', { timeoutMs: 30_000 });
});

after(async () => {
  await agent?.daemon.stop();
  await ca?.daemon.stop();
  await dir?.cleanup();
});

test('CA port: Check answers SERVING without a client certificate, per service too; unknown services are NOT_FOUND', async () => {
  const c = new Health(ca.address, caCreds(), CA_OPTIONS);
  try {
    assert.equal(await check(c), 'SERVING');
    assert.equal(await check(c, 'hitless.v1.NodeCaService'), 'SERVING');
    await assert.rejects(check(c, 'no.such.Service'), (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND);
  } finally {
    c.close();
  }
});

test('agent node port: Check is SERVING without a client certificate, while WhoAmI on the same channel is refused', async () => {
  const address = `127.0.0.1:${agent.port}`;
  const c = new Health(address, nodeCreds(), NODE_OPTIONS);
  const node = new (protos().node.hitless.v1.NodeService)(address, nodeCreds(), NODE_OPTIONS);
  try {
    assert.equal(await check(c, 'hitless.v1.NodeService'), 'SERVING');
    const refused = await new Promise<grpc.ServiceError | null>((resolve) => node.WhoAmI({}, { deadline: Date.now() + 10_000 }, (err) => resolve(err)));
    assert.equal(refused?.code, grpc.status.UNAUTHENTICATED, 'node service calls still need a node certificate');
  } finally {
    c.close();
    node.close();
  }
});

// The CA builds its reflection service on the first call (shared/grpc/reflection.ts): both versions must answer.
for (const version of ['v1', 'v1alpha'] as const) {
  test(`reflection (${version}) lists the CA services and health`, async () => {
    const root = join(dirname(createRequire(import.meta.url).resolve('@grpc/reflection')), '../proto');
    const def = protoLoader.loadSync(`grpc/reflection/${version}/reflection.proto`, { includeDirs: [root], keepCase: true });
    type ReflectionClient = new (a: string, c: grpc.ChannelCredentials, o?: grpc.ClientOptions) => grpc.Client & {
      ServerReflectionInfo(): grpc.ClientDuplexStream<unknown, { list_services_response?: { service: { name: string }[] } }>;
    };
    const pkg = grpc.loadPackageDefinition(def) as unknown as { grpc: { reflection: Record<typeof version, { ServerReflection: ReflectionClient }> } };
    const client = new pkg.grpc.reflection[version].ServerReflection(ca.address, caCreds(), CA_OPTIONS);
    try {
      const call = client.ServerReflectionInfo();
      const reply = new Promise<{ list_services_response?: { service: { name: string }[] } }>((resolve, reject) => {
        call.once('data', resolve);
        call.once('error', reject);
      });
      call.write({ list_services: '' });
      const names = (await reply).list_services_response?.service.map((s) => s.name).sort();
      call.end();
      assert.deepEqual(names, ['grpc.health.v1.Health', 'hitless.v1.CaAdminService', 'hitless.v1.NodeCaService']);
    } finally {
      client.close();
    }
  });
}

test('Watch sees SERVING, then NOT_SERVING when a graceful stop begins, and the stream is ended by the server', async () => {
  const c = new Health(ca.address, caCreds(), CA_OPTIONS);
  const a = new Health(`127.0.0.1:${agent.port}`, nodeCreds(), NODE_OPTIONS);
  try {
    const caWatch = watch(c);
    const agentWatch = watch(a);
    assert.equal(await caWatch.first, 'SERVING');
    assert.equal(await agentWatch.first, 'SERVING');

    const [agentCode] = await Promise.all([agent.daemon.stop(), agentWatch.ended]);
    assert.equal(agentCode, 0);
    assert.deepEqual(agentWatch.seen, ['SERVING', 'NOT_SERVING']);

    const [caCode, status] = await Promise.all([ca.daemon.stop(), caWatch.ended]);
    assert.equal(caCode, 0);
    assert.deepEqual(caWatch.seen, ['SERVING', 'NOT_SERVING']);
    // OK, not CANCELLED/UNAVAILABLE: the CA ended the stream itself instead of holding its stop for the grace.
    assert.equal(status.code, grpc.status.OK, 'the CA ended the Watch stream itself');
  } finally {
    c.close();
    a.close();
  }
});
