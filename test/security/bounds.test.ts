// Attack suite, resource bounds (issue 8, item 1): a real `ca serve` on 127.0.0.1, attacked from 127.0.0.2
// with a raw HTTP/2 client (test/helpers/raw-grpc.ts). Each test asserts the refusal (status and message),
// that the store did not change (`ca nodes`), and that a legitimate node on 127.0.0.1 still joins and renews.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { generateKeyPairPem } from '../../shared/pki/keys.js';
import { createCsrDer } from '../../shared/pki/csr.js';
import { tmpDir } from '../helpers/tmp.js';
import { startCa, type TestCa } from '../helpers/cluster.js';
import { runJson } from '../helpers/proc.js';
import { fetchRoots, joinNode, renewNode } from '../helpers/node-identity.js';
import { rawSession, issueRequest, ISSUE_PATH } from '../helpers/raw-grpc.js';

let dir: Awaited<ReturnType<typeof tmpDir>>;
let ca: TestCa;
let roots: string[];
let port: number;

interface NodeJson { node_id: string; serial: string }
const nodes = () => runJson<NodeJson[]>('ca', ['nodes', '--state-dir', ca.stateDir, '--json']);

/** A node joins and renews from 127.0.0.1 (the attacker is elsewhere); returns the node ids now stored. */
async function legitimateNodeJoinsAndRenews(): Promise<void> {
  const node = await joinNode(ca.address, ca.init.tokens.worker, roots);
  const renewed = await renewNode(ca.address, node, roots);
  assert.equal(renewed.cert.node_id, node.cert.node_id);
}

before(async () => {
  dir = await tmpDir();
  ca = await startCa(dir.path);
  port = Number(ca.address.split(':')[1]);
  roots = await fetchRoots(ca.address);
});

after(async () => {
  await ca?.daemon.stop();
  await dir?.cleanup();
});

test('a join token with a 3,000,000-character version field gets a short error at once, and the log quotes a short prefix', async () => {
  const before = await nodes();
  const { privateKeyPem } = generateKeyPairPem();
  const token = `HTLS-${'9'.repeat(3_000_000)}-${ca.init.tokens.worker.split('-').slice(2).join('-')}`;
  const peer = await rawSession({ port });
  try {
    const mark = ca.daemon.events.length;
    // The issue measured no status at all within 8 s; a prompt answer is one well inside that.
    const res = await peer.call(ISSUE_PATH, issueRequest(token, await createCsrDer(privateKeyPem)), { waitMs: 8_000 }).status;
    assert.equal(res.code, status.UNAUTHENTICATED, `status ${String(res.code)}: ${res.message}`);
    assert.match(res.message, /^malformed join token: 3000082 characters, a token has 83$/);
    const refused = await ca.daemon.waitFor('join.refused', { after: mark });
    assert.equal(refused.source, '127.0.0.2');
    assert.ok(JSON.stringify(refused).length < 400, `log line of ${JSON.stringify(refused).length} chars`);
    assert.ok(ca.daemon.output.every((line) => line.length < 4096), 'no long line in the CA output');
  } finally {
    peer.close();
  }
  assert.deepEqual(await nodes(), before);
  await legitimateNodeJoinsAndRenews();
});
